/**
 * A host beyond the sandbox's allowlist is the user's decision, through the agent loop: a real
 * agent (createAgent, the coding preset: real Bash under real bubblewrap, the real proxy, real
 * permissions) with a scripted model running curl against a loopback web server under test names
 * (sandbox.network.hosts). `Network(domain:...)` rules decide first; what they leave is asked;
 * headless refuses.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentEvent, PermissionRequest } from '../../../plugins/agent/index.js'
import { bwrapStatus } from '../../../plugins/sandbox/bwrap.js'
import { createAgent } from '../../../sdk/create-agent.js'

let server: Server
let port: number
const seen: string[] = []
let project: string
let home: string

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.headers.host?.split(':')[0]}${req.url}`)
    res.end(`web:${req.url}`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
  project = await realpath(await mkdtemp(join(tmpdir(), 'tau-netask-project-')))
  home = await mkdtemp(join(tmpdir(), 'tau-netask-home-'))
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await rm(project, { recursive: true, force: true })
  await rm(home, { recursive: true, force: true })
})

const curl = (name: string, path: string) => `curl -sS http://${name}.test:${port}${path}`

async function runBash(
  commands: readonly string[],
  askPermission?: (r: PermissionRequest) => Promise<'allow' | 'deny'>,
) {
  const agent = await createAgent({
    cwd: project,
    tauHome: home,
    logLevel: 'silent',
    config: {
      model: 'scripted:net',
      providers: {
        scripted: {
          turns: [
            {
              toolCalls: commands.map((command, i) => ({ id: `c${i}`, name: 'Bash', input: { command } })),
            },
            { text: 'done' },
          ],
        },
      },
      session: { persist: false },
      sandbox: {
        mode: 'bwrap',
        network: {
          mode: 'allowlist',
          allowedDomains: ['allowed.test'],
          deniedDomains: ['denied.test'],
          hosts: Object.fromEntries(
            ['allowed', 'ruled', 'asked', 'denied', 'blocked'].map((n) => [`${n}.test`, '127.0.0.1']),
          ),
        },
      },
      permissions: { allow: ['Bash', 'Network(domain:ruled.test)'], deny: ['Network(domain:blocked.test)'] },
    },
    ...(askPermission ? { session: { askPermission } } : {}),
  })
  const results = new Map<string, string>()
  try {
    const events: AgentEvent[] = []
    for await (const event of agent.run('fetch')) events.push(event)
    for (const event of events) {
      if (event.type !== 'tool-end') continue
      results.set(
        event.id,
        event.result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n'),
      )
    }
  } finally {
    await agent.close()
  }
  return results
}

// Where bubblewrap runs (CI asserts it does: contract.test.ts).
if (bwrapStatus().available)
  describe('Network(domain:...) through the agent loop', () => {
    it('headless: the allowlist and allow rules reach; deniedDomains, a deny rule and an unasked host are refused', async () => {
      const r = await runBash([
        curl('allowed', '/a'),
        curl('ruled', '/b'),
        curl('asked', '/c'),
        curl('blocked', '/d'),
        curl('denied', '/e'),
      ])
      expect(r.get('c0')).toContain('web:/a')
      expect(r.get('c1')).toContain('web:/b')
      expect(r.get('c2')).toContain('[sandbox] refused: network to asked.test')
      expect(r.get('c2')).toContain('nobody can allow it')
      expect(r.get('c3')).toContain('deny rule Network(domain:blocked.test)')
      expect(r.get('c4')).toContain("denied by sandbox.network.deniedDomains 'denied.test'")
      expect(seen).toEqual(['allowed.test/a', 'ruled.test/b'])
    })

    it("asks the session's user about a new host, as a Network permission, and obeys the answer", async () => {
      const asked: PermissionRequest[] = []
      const r = await runBash([`${curl('asked', '/yes')}; ${curl('denied', '/never')}`], async (request) => {
        asked.push(request)
        return 'allow'
      })
      expect(r.get('c0')).toContain('web:/yes')
      expect(r.get('c0')).toContain('[sandbox] refused: network to denied.test')
      // Bash itself is allowed by a rule: the one question is the network's.
      expect(asked).toHaveLength(1)
      expect(asked[0]).toMatchObject({
        toolName: 'Network',
        suggestedRule: 'Network(domain:asked.test)',
        input: { host: 'asked.test', port, tool: 'Bash' },
      })
      expect(seen).toContain('asked.test/yes')
      expect(seen).not.toContain('denied.test/never')
    })
  })
