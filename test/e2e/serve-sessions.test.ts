/**
 * Per-session MCP servers and sandbox through `tau serve` (the real binary, coding preset,
 * scripted model on loopback): one server, two sessions. Session A is created with its own
 * server-everything (stdio) and `sandbox: { mode: 'bwrap' }`; session B with neither. A sees and
 * calls the echo tool and cannot write outside its workspace (real bubblewrap); B is offered no
 * MCP tool and its same write lands. A bad setting is a 400 naming the field.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { bwrapStatus } from '../../plugins/sandbox/index.js'
import { typeOf } from '../plugins/serve/sse-client.js'
import { useProjects } from './run-tau.js'
import { startServe } from './serve-process.js'

const EVERYTHING_MAIN = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
)
const project = useProjects()
const closers: Array<() => unknown> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const bwrap = bwrapStatus()

describe.runIf(bwrap.available || process.env.CI === 'true')(
  'tau serve: MCP servers and sandbox per session',
  () => {
    it('gives one session its own MCP server and bubblewrap, the other neither', async () => {
      const p = await project()
      const outside = join(dirname(p.dir), 'outside')
      await mkdir(outside)
      const bash = (id: string, file: string) => ({
        id,
        name: 'Bash',
        input: { command: `echo hi > ${join(outside, file)}` },
      })
      const server: ScriptedServer = await startScriptedServer({
        format: 'openai',
        script: [
          {
            toolCalls: [
              { id: 'e1', name: 'mcp__mine__echo', input: { message: 'only for a' } },
              bash('b1', 'from-a'),
            ],
          },
          { text: 'a done' },
          { toolCalls: [bash('b2', 'from-b')] },
          { text: 'b done' },
        ],
      })
      closers.push(() => server.close())
      await p.write({
        'tau.config.ts': `import { defineConfig } from 'tau'

export default defineConfig({
  preset: 'coding',
  model: 'openai:scripted-model',
  providers: { openai: { baseURL: ${JSON.stringify(`${server.url}/v1`)} } },
  sandbox: { mode: 'off' },
})
`,
      })
      const serve = await startServe(p, closers)

      const bad = await serve.call('POST', '/sessions', { sandbox: { mode: 'docker-ish' } })
      expect(bad.status).toBe(400)
      expect(bad.body).toMatchObject({ error: { code: 'TAU_SESSION_SETTINGS_INVALID' } })
      expect(JSON.stringify(bad.body)).toContain('settings.sandbox.mode')

      const a = await serve.call('POST', '/sessions', {
        permissionMode: 'bypassPermissions',
        mcpServers: { mine: { command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'] } },
        sandbox: { mode: 'bwrap' },
      })
      expect(a.status).toBe(201)
      const b = await serve.call('POST', '/sessions', { permissionMode: 'bypassPermissions' })
      expect(b.status).toBe(201)

      const runTurn = async (id: string, text: string) => {
        const events = await serve.stream(`/sessions/${id}/events`)
        expect((await serve.call('POST', `/sessions/${id}/prompt`, { text })).status).toBe(202)
        await events.waitFor((e) => e.event === 'agent' && typeOf(e) === 'result', `${id}'s result`, 60_000)
        return events
      }
      const aEvents = await runTurn(String(a.body.id), 'echo and write')
      const echoed = await aEvents.waitFor(
        (e) => e.event === 'agent' && typeOf(e) === 'tool-end' && e.data.name === 'mcp__mine__echo',
        'the echo result',
      )
      expect(JSON.stringify(echoed.data)).toContain('Echo: only for a')
      expect(existsSync(join(outside, 'from-a'))).toBe(false)

      await runTurn(String(b.body.id), 'write')
      expect(existsSync(join(outside, 'from-b'))).toBe(true)

      const toolsOf = (i: number) =>
        (
          (server.requests[i]?.body as { tools?: Array<{ function: { name: string } }> } | undefined)
            ?.tools ?? []
        ).map((t) => t.function.name)
      expect(toolsOf(0)).toContain('mcp__mine__echo')
      const bTools = toolsOf(2)
      expect(bTools).toContain('Bash')
      expect(bTools.filter((name) => name.startsWith('mcp__'))).toEqual([])
    })
  },
)
