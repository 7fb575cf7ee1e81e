// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references in settings are the subject here
/**
 * A session's own settings in its log: written in the meta record without secrets, given back by
 * resume and fork (in this process as given, after a restart from the log with what was
 * withheld left out and said), read back by a second kernel as a restarted `tau serve` would.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { definePlugin } from '../../../kernel/index.js'
import { type AgentSessionOptions, agentRuntimeRef } from '../../../plugins/agent/index.js'
import session, {
  projectKey,
  type SessionService,
  sessionServiceRef,
  settingsForLog,
  settingsFromLog,
  type TranscriptRecord,
} from '../../../plugins/session/index.js'
import { allowAll, harness, tempDir } from '../agent/helpers.js'

const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})

/** A plugin whose config key takes per-session settings (as mcp's `mcpServers` and sandbox's `sandbox` do). */
const vault = definePlugin({
  name: 'vault',
  config: z.object({
    level: z.number().default(0),
    env: z.record(z.string(), z.string()).default({}),
  }),
  setup() {},
})

async function kernelIn(cwd: string) {
  const h = await harness({
    cwd,
    turns: [{ text: 'ok' }, { text: 'again' }],
    decide: allowAll,
    plugins: [session, vault],
    tauHome: join(cwd, '.tau-home'),
    config: { session: { durability: 'off' } },
  })
  const runtime = h.kernel.resolve(agentRuntimeRef)
  // The runtime opens the session's scope itself (as frontends do), so the settings reach it.
  const open = (options: AgentSessionOptions = {}) => runtime.createSession(options)
  return { h, open, sessions: h.kernel.resolve(sessionServiceRef) as SessionService }
}

async function metaOf(cwd: string, id: string): Promise<TranscriptRecord> {
  const file = join(cwd, '.tau-home', 'projects', projectKey(cwd), `${id}.jsonl`)
  return JSON.parse((await readFile(file, 'utf8')).split('\n')[0]!) as TranscriptRecord
}

describe('settings in the session log', () => {
  it('keeps settings and ${VAR} references, withholds literal secrets, and leaves a withheld MCP server out whole', () => {
    const given = {
      mcpServers: {
        gh: { command: 'gh-mcp', args: ['--token-file', '/t'], env: { TOKEN: 'ghp_secret', DEBUG: '' } },
        docs: {
          type: 'http',
          url: 'http://127.0.0.1:1/mcp',
          headers: { Authorization: 'Bearer ${DOCS_TOKEN}' },
        },
        api: { url: 'http://127.0.0.1:2/mcp', oauth: { clientId: 'c', clientSecret: 's3cret' } },
      },
      sandbox: { mode: 'bwrap', env: { allow: ['LANG'], set: { API_KEY: 'sk-live' } } },
    }
    const logged = settingsForLog(given)
    const text = JSON.stringify(logged)
    for (const secret of ['ghp_secret', 's3cret', 'sk-live']) expect(text).not.toContain(secret)
    expect(logged.settings).toEqual({
      mcpServers: {
        gh: { command: 'gh-mcp', args: ['--token-file', '/t'], env: { DEBUG: '' } },
        docs: given.mcpServers.docs,
        api: { url: 'http://127.0.0.1:2/mcp', oauth: { clientId: 'c' } },
      },
      sandbox: { mode: 'bwrap', env: { allow: ['LANG'], set: {} } },
    })
    expect(logged.withheld).toEqual([
      ['mcpServers', 'gh', 'env', 'TOKEN'],
      ['mcpServers', 'api', 'oauth', 'clientSecret'],
      ['sandbox', 'env', 'set', 'API_KEY'],
    ])
    const back = settingsFromLog({ id: 's1', ...logged })
    expect(back.settings).toEqual({
      mcpServers: { docs: given.mcpServers.docs },
      sandbox: { mode: 'bwrap', env: { allow: ['LANG'], set: {} } },
    })
    expect(back.warnings).toEqual([
      expect.stringMatching(/MCP server 'gh' is not connected: env\.TOKEN was a literal value.*\$\{VAR\}/),
      expect.stringMatching(/MCP server 'api' is not connected: oauth\.clientSecret/),
      expect.stringMatching(/setting sandbox\.env\.set\.API_KEY is not set/),
    ])
    // Nothing withheld: given back as logged.
    expect(settingsFromLog({ id: 's2', ...settingsForLog({ vault: { level: 2 } }) })).toEqual({
      settings: { vault: { level: 2 } },
      warnings: [],
    })
  })

  it('the meta record has the settings; resume and fork in this process run with them as given, a restarted process with the log copy', async () => {
    const d = await tempDir('tau-settings-')
    dirs.push(d)
    const cwd = d.dir
    const first = await kernelIn(cwd)
    const settings = { vault: { level: 3, env: { REF: '${VAULT_REF}', TOKEN: 'literal-secret' } } }
    const s1 = first.open({ settings })
    await first.h.run(s1, 'hello')
    const meta = await metaOf(cwd, s1.id)
    expect(meta).toMatchObject({
      type: 'meta',
      settings: { vault: { level: 3, env: { REF: '${VAULT_REF}' } } },
      withheld: [['vault', 'env', 'TOKEN']],
    })
    expect(JSON.stringify(meta)).not.toContain('literal-secret')
    await s1.close()
    // The same process: as given, secrets included.
    const again = await first.sessions.resume(s1.id)
    expect(again.options.settings).toEqual(settings)
    expect(again.warnings).toEqual([])
    const forkHere = await first.sessions.resume(s1.id, { fork: true })
    expect(forkHere.options.settings).toEqual(settings)
    const reopened = first.open({ ...again.options })
    expect(reopened.settings).toEqual(settings)
    await reopened.close()
    await first.h.kernel.stop()

    // Another process (a restarted server): the log's copy, the withheld value said.
    const second = await kernelIn(cwd)
    const plan = await second.sessions.resume(s1.id)
    expect(plan.options.settings).toEqual({ vault: { level: 3, env: { REF: '${VAULT_REF}' } } })
    expect(plan.warnings).toEqual([expect.stringContaining('vault.env.TOKEN is not set')])
    const resumed = second.open({ ...plan.options })
    expect(resumed.settings).toEqual(plan.options.settings)
    await resumed.close()
    const fork = await second.sessions.resume(s1.id, { fork: true })
    expect(fork.options.settings).toEqual(plan.options.settings)
    const forkMeta = await metaOf(cwd, fork.options.id)
    expect(forkMeta).toMatchObject({
      parent: { id: s1.id },
      settings: { vault: { level: 3, env: { REF: '${VAULT_REF}' } } },
      withheld: [['vault', 'env', 'TOKEN']],
    })
  })

  it('a session without settings writes none', async () => {
    const d = await tempDir('tau-settings-')
    dirs.push(d)
    const { h, open, sessions } = await kernelIn(d.dir)
    const s = open()
    await h.run(s, 'hello')
    const meta = await metaOf(d.dir, s.id)
    expect(meta).not.toHaveProperty('settings')
    await s.close()
    expect((await sessions.resume(s.id)).options).not.toHaveProperty('settings')
  })
})
