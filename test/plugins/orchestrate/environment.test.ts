/**
 * A hub agent's `environment`: its sessions are created with their own sandbox settings (merged
 * over the global `sandbox` config by the kernel), so one agent of a workflow runs its Bash under
 * real bubblewrap while another runs on the machine. A bad environment fails at config load,
 * naming the agent and the field.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import mcp from '../../../plugins/mcp/index.js'
import { agent, chain, defineWorkflow } from '../../../plugins/orchestrate/index.js'
import permissions from '../../../plugins/permissions/index.js'
import sandbox, { bwrapStatus } from '../../../plugins/sandbox/index.js'
import { EVERYTHING } from '../mcp/helpers.js'
import { AGENTS, harness } from './helpers.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

const orchestrateWith = (agents: Record<string, unknown>, environments?: Record<string, unknown>) => ({
  orchestrate: { agents: { ...AGENTS, ...agents }, ...(environments ? { environments } : {}) },
})

describe('config load', () => {
  it('a sandbox setting the sandbox schema refuses names the agent and the field', async () => {
    const error = await harness({
      extraPlugins: [sandbox],
      config: orchestrateWith({
        sealed: { description: 'x', prompt: 'p', environment: { sandbox: { mode: 'jail' } } },
      }),
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'orchestrate',
      message: expect.stringContaining('orchestrate.agents.sealed.environment.sandbox.mode'),
    })
  })

  it('an environment name orchestrate.environments does not define', async () => {
    const error = await harness({
      config: orchestrateWith(
        { sealed: { description: 'x', prompt: 'p', environment: 'lockd' } },
        { locked: { sandbox: { mode: 'bwrap' } } },
      ),
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'orchestrate',
      message: expect.stringMatching(
        /orchestrate\.agents\.sealed\.environment: .*'sealed' names the environment 'lockd'.*it defines: locked/,
      ),
    })
  })

  it('a key an environment does not have, and a bad named environment', async () => {
    const error = await harness({
      config: orchestrateWith(
        { sealed: { description: 'x', prompt: 'p', environment: { sandbx: {} } } },
        { locked: { sandbox: { network: { mode: 'everywhere' } } } },
      ),
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_CONFIG_INVALID', plugin: 'orchestrate' })
    const lines = [(error as Error).message, ...((error as { details?: string[] }).details ?? [])].join('\n')
    expect(lines).toMatch(/orchestrate\.agents\.sealed\.environment.*sandbx/)
    expect(lines).toContain('orchestrate.environments.locked.sandbox.network.mode')
  })
})

describe('sessions in their own environment', () => {
  const bwrap = bwrapStatus({})
  // The real bubblewrap; where it cannot run this test cannot say anything, so it fails loudly.
  it('the sandboxed agent cannot write outside the workspace; the other one can', async () => {
    expect(bwrap, 'bubblewrap must run on this machine for this test').toMatchObject({ available: true })
    const cwd = await tempDir('tau-orch-env-cwd-')
    const outside = await tempDir('tau-orch-env-outside-')
    const write = (file: string) => ({
      toolCalls: [
        { name: 'Bash', input: { command: `echo written > ${join(outside, file)}; echo exit=$?` } },
      ],
    })
    const h = await harness({
      cwd,
      extraPlugins: [sandbox, permissions],
      config: {
        sandbox: { mode: 'off' },
        ...orchestrateWith(
          {
            sealed: {
              description: 'x',
              prompt: 'p',
              tools: ['Bash'],
              permissionMode: 'bypassPermissions',
              environment: 'locked',
            },
            open: {
              description: 'x',
              prompt: 'p',
              tools: ['Bash'],
              permissionMode: 'bypassPermissions',
            },
          },
          { locked: { sandbox: { mode: 'bwrap' } } },
        ),
      },
      turns: [write('sealed'), { text: 'sealed done' }, write('open'), { text: 'open done' }],
    })
    const workflow = defineWorkflow({
      name: 'two-environments',
      input: z.string(),
      run: chain([agent({ agent: 'sealed', name: 'sealed' }), agent({ agent: 'open', name: 'open' })]),
    })
    const { outcome } = await h.run(workflow, 'go')
    expect(outcome).toMatchObject({ isError: false, output: 'open done' })
    const results = h.requests.flatMap((r) =>
      r.messages.filter((m) => m.role === 'tool').map((m) => JSON.stringify(m.content)),
    )
    // The sealed agent's shell could not create the file (read-only outside the workspace).
    expect(results[0]).not.toContain('exit=0')
    await expect(readFile(join(outside, 'sealed'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readFile(join(outside, 'open'), 'utf8')).toBe('written\n')
  })

  it("an inline agent's environment is checked by the sandbox's schema when its session starts", async () => {
    const h = await harness({ extraPlugins: [sandbox], config: { sandbox: { mode: 'off' } } })
    const workflow = defineWorkflow({
      name: 'inline-env',
      input: z.string(),
      run: agent({ agent: { prompt: 'p', environment: { sandbox: { mode: 'jail' } } } }),
    })
    const { outcome } = await h.run(workflow, 'go')
    expect(outcome).toMatchObject({
      isError: true,
      error: { code: 'TAU_SESSION_SETTINGS_INVALID', message: expect.stringContaining('sandbox.mode') },
    })
    const named = defineWorkflow({
      name: 'inline-named',
      input: z.string(),
      run: agent({ agent: { prompt: 'p', environment: 'nowhere' } }),
    })
    const second = await h.run(named, 'go')
    expect(second.outcome).toMatchObject({
      isError: true,
      error: { code: 'TAU_WORKFLOW_INVALID', message: expect.stringContaining("'nowhere'") },
    })
    expect(h.requests).toHaveLength(0)
  })

  it("an environment's MCP servers: the agent's step session has their tools, the next agent's does not", async () => {
    const h = await harness({
      extraPlugins: [mcp, permissions],
      config: orchestrateWith(
        {
          tooled: { description: 'x', prompt: 'p', permissionMode: 'bypassPermissions', environment: 'docs' },
          plain: { description: 'x', prompt: 'p', permissionMode: 'bypassPermissions' },
        },
        { docs: { mcpServers: { mine: { command: EVERYTHING, args: ['stdio'] } } } },
      ),
      turns: [
        { toolCalls: [{ id: 'e1', name: 'mcp__mine__echo', input: { message: 'from the step' } }] },
        { text: 'tooled done' },
        { toolCalls: [{ id: 'e2', name: 'mcp__mine__echo', input: { message: 'not mine' } }] },
        { text: 'plain done' },
      ],
    })
    const workflow = defineWorkflow({
      name: 'mcp-environment',
      input: z.string(),
      run: chain([agent({ agent: 'tooled', name: 'tooled' }), agent({ agent: 'plain', name: 'plain' })]),
    })
    const { outcome } = await h.run(workflow, 'go')
    expect(outcome).toMatchObject({ isError: false, output: 'plain done' })
    const names = (i: number) => (h.requests[i]?.tools ?? []).map((t) => t.name)
    expect(names(0)).toContain('mcp__mine__echo')
    expect(names(2)).not.toContain('mcp__mine__echo')
    const results = h.requests.flatMap((r) =>
      r.messages.filter((m) => m.role === 'tool').map((m) => JSON.stringify(m.content)),
    )
    expect(results[0]).toContain('Echo: from the step')
    expect(results.at(-1)).not.toContain('Echo: not mine')
  })
})
