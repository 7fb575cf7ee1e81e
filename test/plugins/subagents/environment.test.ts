/**
 * An agent definition's `environment` (subagents.agents, agent files, --agents, and the
 * orchestrate plugin's hub agents, which join the same catalogue): the Task tool's child session
 * is created with it as its own settings, so the child's Bash runs under real bubblewrap while the
 * parent's does not, and the child has MCP servers (the reference server-everything) that the
 * parent does not. A bad environment fails at load, naming the agent or file and the field.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ModelRequest, TauConfig, TauPlugin } from '../../../kernel/index.js'
import { type AgentEvent, agentRuntimeRef } from '../../../plugins/agent/index.js'
import mcp from '../../../plugins/mcp/index.js'
import orchestrate from '../../../plugins/orchestrate/index.js'
import permissions from '../../../plugins/permissions/index.js'
import providerScripted, {
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import sandbox, { bwrapStatus } from '../../../plugins/sandbox/index.js'
import subagents, { cliAgents, subagentCatalogRef } from '../../../plugins/subagents/index.js'
import { toolRegistryRef } from '../../../plugins/tools/index.js'
import { createTestKernel, type TestKernel } from '../../../sdk/testing.js'
import { EVERYTHING } from '../mcp/helpers.js'

const kernels: TestKernel[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((kernel) => kernel.stop()))
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

async function start(options: {
  plugins?: readonly TauPlugin[]
  config?: TauConfig
  turns?: ScriptTurn[]
  files?: Record<string, string>
}) {
  const cwd = await tempDir('tau-sub-env-cwd-')
  const tauHome = await tempDir('tau-sub-env-home-')
  // User agent files (<tauHome>/agents): no workspace trust is needed for them.
  for (const [name, text] of Object.entries(options.files ?? {})) {
    await mkdir(join(tauHome, 'agents'), { recursive: true })
    await writeFile(join(tauHome, 'agents', name), text)
  }
  const kernel = await createTestKernel({
    plugins: [providerScripted, permissions, subagents, ...(options.plugins ?? [])],
    config: {
      model: 'scripted:parent',
      providers: { scripted: { turns: options.turns ?? [] } },
      ...options.config,
    },
    cwd,
    tauHome,
  })
  kernels.push(kernel)
  return { kernel, cwd, requests: kernel.resolve(scriptedProviderRef).requests }
}

const task = (id: string, subagent_type: string): ScriptTurn => ({
  toolCalls: [{ id, name: 'Task', input: { description: 'a task', prompt: 'do it', subagent_type } }],
})

async function runParent(kernel: TestKernel, cwd: string): Promise<AgentEvent[]> {
  const runtime = kernel.resolve(agentRuntimeRef)
  const session = runtime.createSession({
    scope: kernel.createSession({ cwd }),
    cwd,
    permissionMode: 'bypassPermissions',
  })
  const events: AgentEvent[] = []
  for await (const event of session.run('go')) events.push(event)
  return events
}

const toolResults = (events: readonly AgentEvent[], id: string) =>
  events.flatMap((e) => (e.type === 'tool-end' && e.id === id ? [JSON.stringify(e.result.content)] : []))
const toolNames = (request: ModelRequest) => (request.tools ?? []).map((t) => t.name)

describe('load', () => {
  it('subagents.agents naming an environment subagents.environments does not define', async () => {
    const error = await start({
      config: {
        subagents: {
          environments: { locked: { sandbox: { mode: 'bwrap' } } },
          agents: { sealed: { description: 'x', prompt: 'p', environment: 'lockd' } },
        },
      },
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'subagents',
      message: expect.stringMatching(
        /subagents\.agents\.sealed\.environment: .*'sealed' names the environment 'lockd'.*it defines: locked/,
      ),
    })
  })

  it('a field the sandbox schema refuses names the agent and the field', async () => {
    const error = await start({
      plugins: [sandbox],
      config: {
        subagents: {
          agents: { sealed: { description: 'x', prompt: 'p', environment: { sandbox: { mode: 'jail' } } } },
        },
      },
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'subagents',
      message: expect.stringContaining('subagents.agents.sealed.environment.sandbox.mode'),
    })
  })

  // The sandbox plugin is always there (tools depends on it); the mcp plugin is optional.
  it('an environment for a plugin that is not loaded fails at start, not at the first session', async () => {
    const mcpServers = { x: { command: 'true' } }
    const error = await start({
      config: {
        subagents: { agents: { tooled: { description: 'x', prompt: 'p', environment: { mcpServers } } } },
      },
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'subagents',
      message: expect.stringContaining("subagents.agents.tooled.environment: mcpServers (plugin 'mcp')"),
    })
    const named = await start({
      config: { subagents: { environments: { tools: { mcpServers } } } },
    }).catch((e: unknown) => e)
    expect(named).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      message: expect.stringContaining("subagents.environments.tools: mcpServers (plugin 'mcp')"),
    })
  })

  it('an agent file with a bad environment is skipped, naming the file and the field', async () => {
    const file = (environment: string) => `---\ndescription: x\n${environment}\n---\nbody\n`
    const { kernel } = await start({
      plugins: [sandbox],
      config: { subagents: { environments: { locked: { sandbox: { mode: 'bwrap' } } } } },
      files: {
        'jail.md': file('environment:\n  sandbox:\n    mode: jail'),
        'typo.md': file('environment: lockd'),
        'mcp.md': file('environment:\n  mcpServers:\n    x:\n      command: "true"'),
        'mode.md': file('permissionMode: yolo'),
        'good.md': file('environment: locked\npermissionMode: plan'),
      },
    })
    const catalog = kernel.resolve(subagentCatalogRef)
    const problems = Object.fromEntries(catalog.problems().map((p) => [p.file.split('/').at(-1), p.message]))
    expect(problems['jail.md']).toContain("field 'environment.sandbox.mode'")
    expect(problems['typo.md']).toMatch(/field 'environment': .*'lockd'.*subagents\.environments/)
    expect(problems['mcp.md']).toContain("field 'environment': it sets mcpServers (plugin 'mcp')")
    expect(problems['mode.md']).toContain("field 'permissionMode'")
    expect(catalog.list().find((a) => a.name === 'good')).toMatchObject({
      environment: { sandbox: { mode: 'bwrap' } },
      environmentName: 'locked',
      permissionMode: 'plan',
    })
    expect(catalog.list().map((a) => a.name)).not.toContain('jail')
  })

  it('--agents takes an environment, a name checked against subagents.environments', () => {
    expect(
      cliAgents(
        ['--agents', JSON.stringify({ a: { description: 'x', prompt: 'p', environment: 'locked' } })],
        {
          locked: { sandbox: { mode: 'bwrap' } },
        },
      ),
    ).toMatchObject({ a: { environment: 'locked' } })
    expect(() =>
      cliAgents(['--agents', JSON.stringify({ a: { description: 'x', prompt: 'p', environment: 'nope' } })]),
    ).toThrow(/--agents: a\.environment: .*'nope'/)
    expect(() =>
      cliAgents([
        '--agents',
        JSON.stringify({ a: { description: 'x', prompt: 'p', environment: { sandbx: {} } } }),
      ]),
    ).toThrow(/--agents: a\.environment/)
  })
})

describe("the Task child's session runs in its agent's environment", () => {
  const bwrap = bwrapStatus({})
  // The real bubblewrap; where it cannot run this test cannot say anything, so it fails loudly.
  it("an agent file's bwrap environment: the child's Bash cannot write outside the workspace, a child without one can", async () => {
    expect(bwrap, 'bubblewrap must run on this machine for this test').toMatchObject({ available: true })
    const outside = await tempDir('tau-sub-env-outside-')
    const write = (id: string, file: string): ScriptTurn => ({
      toolCalls: [
        { id, name: 'Bash', input: { command: `echo written > ${join(outside, file)}; echo exit=$?` } },
      ],
    })
    const { kernel, cwd } = await start({
      plugins: [sandbox],
      config: {
        sandbox: { mode: 'off' },
        subagents: {
          environments: { locked: { sandbox: { mode: 'bwrap' } } },
          agents: { open: { description: 'Runs on the machine', prompt: 'p', tools: ['Bash'] } },
        },
      },
      files: {
        'sealed.md': '---\ndescription: Runs sealed\ntools: Bash\nenvironment: locked\n---\nSEALED\n',
      },
      turns: [
        task('t1', 'sealed'),
        write('b1', 'sealed'),
        { text: 'sealed done' },
        task('t2', 'open'),
        write('b2', 'open'),
        { text: 'open done' },
        { text: 'all done' },
      ],
    })
    const events = await runParent(kernel, cwd)
    expect(toolResults(events, 't1')[0]).toContain('sealed done')
    // The sealed child's shell could not create the file (read-only outside the workspace).
    expect(toolResults(events, 'b1')[0]).toMatch(/exit=[1-9]/)
    await expect(readFile(join(outside, 'sealed'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    expect(toolResults(events, 'b2')[0]).toContain('exit=0')
    expect(await readFile(join(outside, 'open'), 'utf8')).toBe('written\n')
  })

  it("an environment's MCP servers: the child has their tools, the parent and other children do not", async () => {
    const { kernel, cwd, requests } = await start({
      plugins: [mcp],
      config: {
        subagents: {
          agents: {
            tooled: {
              description: 'Has its own MCP server',
              prompt: 'p',
              environment: { mcpServers: { mine: { command: EVERYTHING, args: ['stdio'] } } },
            },
            plain: { description: 'Has none', prompt: 'p' },
          },
        },
      },
      turns: [
        task('t1', 'tooled'),
        { toolCalls: [{ id: 'e1', name: 'mcp__mine__echo', input: { message: 'from the child' } }] },
        { text: 'tooled done' },
        task('t2', 'plain'),
        { text: 'plain done' },
        { text: 'all done' },
      ],
    })
    const events = await runParent(kernel, cwd)
    expect(toolResults(events, 'e1')[0]).toContain('Echo: from the child')
    const [parent, child, , , other] = requests
    expect(toolNames(child!)).toContain('mcp__mine__echo')
    expect(toolNames(parent!)).not.toContain('mcp__mine__echo')
    expect(toolNames(other!)).not.toContain('mcp__mine__echo')
    expect(kernel.resolve(toolRegistryRef).get('mcp__mine__echo')).toBeUndefined()
  })
})

describe('one catalogue with the hub', () => {
  it("orchestrate.agents are Task's agents too, with their environment, and listed in its description", async () => {
    const { kernel, cwd, requests } = await start({
      plugins: [orchestrate, mcp],
      config: {
        orchestrate: {
          environments: { tooled: { mcpServers: { mine: { command: EVERYTHING, args: ['stdio'] } } } },
          agents: { hubbed: { description: 'A HUB AGENT', prompt: 'HUB PROMPT', environment: 'tooled' } },
        },
      },
      turns: [task('t1', 'hubbed'), { text: 'hub agent done' }, { text: 'all done' }],
    })
    const catalog = kernel.resolve(subagentCatalogRef)
    expect(catalog.list().find((a) => a.name === 'hubbed')).toMatchObject({ source: 'orchestrate' })
    const events = await runParent(kernel, cwd)
    expect(toolResults(events, 't1')[0]).toContain('hub agent done')
    const [parent, child] = requests
    const taskTool = parent!.tools?.find((t) => t.name === 'Task')
    expect(taskTool?.description).toContain('hubbed: A HUB AGENT')
    expect(JSON.stringify(child!.messages)).toContain('HUB PROMPT')
    expect(toolNames(child!)).toContain('mcp__mine__echo')
    expect(toolNames(parent!)).not.toContain('mcp__mine__echo')
  })

  it('an orchestrate environment for a plugin that is not loaded fails at start', async () => {
    const error = await start({
      plugins: [orchestrate],
      config: {
        orchestrate: {
          agents: {
            tooled: {
              description: 'x',
              prompt: 'p',
              environment: { mcpServers: { x: { command: 'true' } } },
            },
          },
        },
      },
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'orchestrate',
      message: expect.stringContaining("orchestrate.agents.tooled.environment: mcpServers (plugin 'mcp')"),
    })
  })
})
