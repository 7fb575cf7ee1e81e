/**
 * A hub agent's `environment`: its sessions are created with their own sandbox settings (merged
 * over the global `sandbox` config by the kernel), so one agent of a workflow runs its Bash under
 * real bubblewrap while another runs on the machine. A bad environment fails at config load,
 * naming the agent and the field.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { agent, defineWorkflow } from '../../../plugins/orchestrate/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import { AGENTS, harness } from './helpers.js'

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
})
