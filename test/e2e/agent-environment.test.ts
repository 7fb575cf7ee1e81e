/**
 * An agent's environment through the real `tau` binary on the coding preset, under real
 * bubblewrap, with a scripted OpenAI-format server on loopback: `tau workflow run` with two hub
 * agents, one whose environment is a bwrap sandbox (its Bash cannot write outside the workspace)
 * and one that runs as configured globally (no sandbox: it can); and `tau start -p` whose Task
 * call starts a subagent from an agent file with `environment: locked` (the child's Bash is
 * sealed, the parent's own Bash is not). Nothing sleeps: the runs end by themselves.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { bwrapStatus } from '../../plugins/sandbox/index.js'
import { type Project, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

const WORKFLOW = `import { z } from 'zod'
import { agent, chain, defineWorkflow } from 'tau'

export default defineWorkflow({
  name: 'two-environments',
  input: z.object({}),
  run: chain([
    agent({ agent: 'sealed', name: 'sealed', prompt: 'write a file outside' }),
    agent({ agent: 'open', name: 'open', prompt: 'write a file outside' }),
  ]),
})
`

interface Fixture {
  readonly p: Project
  readonly server: ScriptedServer
  /** A directory next to the project (outside the workspace), for the agents to write into. */
  readonly outside: string
}

/** A Bash call that writes `file` outside the workspace and says how it went. */
const writeOutside = (outside: string, id: string, file: string): ScriptTurn => ({
  toolCalls: [
    { id, name: 'Bash', input: { command: `echo written > ${join(outside, file)}; echo exit=$?` } },
  ],
})

async function fixture(turns: (outside: string) => ScriptTurn[]): Promise<Fixture> {
  const p = await project()
  const outside = join(p.dir, '..', 'outside')
  await mkdir(outside)
  const server = await startScriptedServer({
    format: 'openai',
    script: turns(outside),
    models: [{ name: 'm', capabilities: ['completion', 'tools'], contextLength: 32_768 }],
  })
  servers.push(server)
  // JSON: the config's form is not under test (a config module costs each run jiti's load).
  await p.write({
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'openai:m',
      providers: { openai: { baseURL: `${server.url}/v1` } },
      sandbox: { mode: 'off' },
      subagents: { environments: { locked: { sandbox: { mode: 'bwrap' } } } },
      orchestrate: {
        environments: { locked: { sandbox: { mode: 'bwrap', network: { mode: 'none' } } } },
        agents: {
          sealed: {
            description: 'Sealed',
            prompt: 'p',
            tools: ['Bash'],
            permissionMode: 'bypassPermissions',
            environment: 'locked',
          },
          open: { description: 'Open', prompt: 'p', tools: ['Bash'], permissionMode: 'bypassPermissions' },
        },
      },
    }),
    '.tau/workflows/two.ts': WORKFLOW,
  })
  return { p, server, outside }
}

/** The text of each tool result the server was sent, in order of the requests. */
function toolResults(server: ScriptedServer): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const request of server.requests) {
    const body = request.body as {
      messages?: Array<{ role: string; tool_call_id?: string; content: unknown }>
    }
    for (const message of body.messages ?? []) {
      if (message.role !== 'tool' || !message.tool_call_id || seen.has(message.tool_call_id)) continue
      seen.add(message.tool_call_id)
      out.push(`${message.tool_call_id}: ${JSON.stringify(message.content)}`)
    }
  }
  return out
}

describe('per-agent environments through the binary', () => {
  const bwrap = bwrapStatus({})
  // The real bubblewrap; where it cannot run these tests cannot say anything, so they fail loudly.

  it('tau workflow run: the bwrap agent cannot write outside the workspace, the other agent can', async () => {
    expect(bwrap, 'bubblewrap must run on this machine for this test').toMatchObject({ available: true })
    const f = await fixture((outside) => [
      writeOutside(outside, 's1', 'sealed'),
      { text: 'sealed done' },
      writeOutside(outside, 'o1', 'open'),
      { text: 'open done' },
    ])
    const result = await f.p.run(['workflow', 'run', 'two-environments', '--input', '{}'], {
      env: { OPENAI_API_KEY: 'sk-test' },
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('open done')
    const results = toolResults(f.server)
    // It ran, and its write failed (read-only outside the workspace).
    expect(results.find((r) => r.startsWith('s1:'))).toMatch(/exit=[1-9]/)
    expect(existsSync(join(f.outside, 'sealed'))).toBe(false)
    expect(results.find((r) => r.startsWith('o1:'))).toContain('exit=0')
    expect(readFileSync(join(f.outside, 'open'), 'utf8')).toBe('written\n')
  })

  it("tau start -p: a Task subagent whose agent file names a bwrap environment is sealed, its parent's Bash is not", async () => {
    expect(bwrap, 'bubblewrap must run on this machine for this test').toMatchObject({ available: true })
    const f = await fixture((outside) => [
      {
        toolCalls: [
          {
            id: 't1',
            name: 'Task',
            input: { description: 'write outside', prompt: 'write it', subagent_type: 'tester' },
          },
        ],
      },
      writeOutside(outside, 'c1', 'child'),
      { text: 'the child is done' },
      writeOutside(outside, 'p1', 'parent'),
      { text: 'all done' },
    ])
    // A user agent file ($TAU_HOME/agents): Claude Code's shape plus tau's environment key.
    await mkdir(join(f.p.tauHome, 'agents'))
    await writeFile(
      join(f.p.tauHome, 'agents', 'tester.md'),
      '---\nname: tester\ndescription: Runs commands sealed\ntools: Bash\nenvironment: locked\n---\nYou run commands.\n',
    )
    const result = await f.p.run(['start', '-p', 'delegate', '--permission-mode', 'bypassPermissions'], {
      env: { OPENAI_API_KEY: 'sk-test' },
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('all done')
    const results = toolResults(f.server)
    expect(results.find((r) => r.startsWith('t1:'))).toContain('the child is done')
    expect(results.find((r) => r.startsWith('c1:'))).toMatch(/exit=[1-9]/)
    expect(existsSync(join(f.outside, 'child'))).toBe(false)
    expect(results.find((r) => r.startsWith('p1:'))).toContain('exit=0')
    expect(readFileSync(join(f.outside, 'parent'), 'utf8')).toBe('written\n')
  })
})
