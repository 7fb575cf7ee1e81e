/**
 * Per-session MCP servers and sandbox through `tau serve` (the real binary, coding preset,
 * scripted model on loopback): one server, two sessions. Session A is created with its own
 * server-everything (stdio) and `sandbox: { mode: 'bwrap' }`; session B with neither. A sees and
 * calls the echo tool and cannot write outside its workspace (real bubblewrap); B is offered no
 * MCP tool and its same write lands; A's server's prompts are A's commands and `/mcp` lists it in A
 * only. A bad setting is a 400 naming the field. Then the settings
 * outlive the server: killed with SIGKILL mid-run and started again, the session continues with its
 * own MCP server and bubblewrap (read from its log, which holds no secret), and so does its fork.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { bwrapStatus } from '../../plugins/sandbox/index.js'
import { projectKey } from '../../plugins/session/index.js'
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
        // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
        'tau.config.json': JSON.stringify({
          preset: 'coding',
          model: 'openai:scripted-model',
          providers: { openai: { baseURL: `${server.url}/v1` } },
          sandbox: { mode: 'off' },
        }),
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
        await events.waitFor((e) => e.event === 'agent' && typeOf(e) === 'result', `${id}'s result`)
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

      // A's server is visible to A alone: its prompts are A's commands, /mcp lists it in A only.
      const commandsOf = async (id: string) =>
        ((await serve.call('GET', `/sessions/${id}/commands`)).body.commands as Array<{ name: string }>).map(
          (c) => c.name,
        )
      expect(await commandsOf(String(a.body.id))).toEqual(
        expect.arrayContaining(['mcp', 'mcp__mine__simple-prompt']),
      )
      const bCommands = await commandsOf(String(b.body.id))
      expect(bCommands).toContain('mcp')
      expect(bCommands.filter((name) => name.startsWith('mcp__mine__'))).toEqual([])
      const mcpOutput = async (id: string) => {
        const stream = await serve.stream(`/sessions/${id}/events`)
        const before = stream.events.length
        expect((await serve.call('POST', `/sessions/${id}/commands`, { name: 'mcp' })).status).toBe(202)
        const said = await stream.waitFor(
          (e) => stream.events.indexOf(e) >= before && e.event === 'output',
          `/mcp's output in ${id}`,
        )
        return String(said.data.text)
      }
      expect(await mcpOutput(String(a.body.id))).toMatch(
        /^mine {2}stdio {2}connected {2}\(this session's own\)$/m,
      )
      expect(await mcpOutput(String(b.body.id))).toMatch(/^No MCP servers in this session/)
    })

    it('keeps them in the log: after kill -9 mid-run and a restart the session and its fork still have its server and bubblewrap; no secret in the log', async () => {
      const p = await project()
      const outside = join(dirname(p.dir), 'outside')
      await mkdir(outside)
      const turn = (id: string, message: string, file: string) => ({
        toolCalls: [
          { id: `e-${id}`, name: 'mcp__mine__echo', input: { message } },
          { id: `b-${id}`, name: 'Bash', input: { command: `echo hi > ${join(outside, file)}` } },
        ],
      })
      const server: ScriptedServer = await startScriptedServer({
        format: 'openai',
        script: [
          turn('1', 'before the kill', 'one'),
          { text: 'first done' },
          // Slow enough to be killed in the middle of it.
          { text: 'a long answer that the kill cuts short, word by word', chunkDelayMs: 150, deltaChars: 2 },
          turn('2', 'after the restart', 'two'),
          { text: 'continued' },
          turn('3', 'in the fork', 'three'),
          { text: 'fork done' },
        ],
      })
      closers.push(() => server.close())
      await p.write({
        // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
        'tau.config.json': JSON.stringify({
          preset: 'coding',
          model: 'openai:scripted-model',
          providers: { openai: { baseURL: `${server.url}/v1` } },
          sandbox: { mode: 'off' },
        }),
      })
      const SECRET = 'sk-literal-secret-in-env'
      const first = await startServe(p, closers)
      const created = await first.call('POST', '/sessions', {
        permissionMode: 'bypassPermissions',
        mcpServers: {
          mine: { command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'] },
          // A literal value in env: not written to the log, so this one does not outlive the server.
          keyed: { command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'], env: { API_KEY: SECRET } },
        },
        sandbox: { mode: 'bwrap' },
      })
      expect(created.status).toBe(201)
      const id = String(created.body.id)
      const events = await first.stream(`/sessions/${id}/events`)
      expect((await first.call('POST', `/sessions/${id}/prompt`, { text: 'echo and write' })).status).toBe(
        202,
      )
      await events.waitFor((e) => e.event === 'agent' && typeOf(e) === 'result', 'the first result')
      // What the second prompt streams, not the first's answer.
      const before = events.events.length
      expect((await first.call('POST', `/sessions/${id}/prompt`, { text: 'a long story' })).status).toBe(202)
      await events.waitFor(
        (e) =>
          events.events.indexOf(e) >= before &&
          e.event === 'agent' &&
          typeOf(e) === 'text-delta' &&
          String(e.data.text) !== '',
        'the answer streaming',
      )
      first.proc.child.kill('SIGKILL')
      expect((await first.proc.result).signal).toBe('SIGKILL')

      const log = await readFile(join(p.tauHome, 'projects', projectKey(p.dir), `${id}.jsonl`), 'utf8')
      expect(log).not.toContain(SECRET)
      expect(JSON.parse(log.split('\n')[0]!)).toMatchObject({
        type: 'meta',
        settings: { mcpServers: { mine: { args: [EVERYTHING_MAIN, 'stdio'] } }, sandbox: { mode: 'bwrap' } },
        withheld: [['mcpServers', 'keyed', 'env', 'API_KEY']],
      })

      const second = await startServe(p, closers)
      expect((await second.call('GET', `/sessions/${id}`)).body).toMatchObject({ status: 'interrupted' })
      const replay = await second.stream(`/sessions/${id}/events`)
      expect((await second.call('POST', `/sessions/${id}/continue`)).status).toBe(202)
      const echoed = await replay.waitFor(
        (e) => e.event === 'agent' && typeOf(e) === 'tool-end' && e.data.name === 'mcp__mine__echo',
        'the echo after the restart',
      )
      expect(JSON.stringify(echoed.data)).toContain('Echo: after the restart')
      await replay.waitFor((e) => e.event === 'agent' && typeOf(e) === 'result', 'the continued result')
      expect(second.proc.output()).toContain("its MCP server 'keyed' is not connected")

      const fork = await second.call('POST', `/sessions/${id}/fork`)
      expect(fork.status).toBe(201)
      const forkId = String(fork.body.id)
      const forkEvents = await second.stream(`/sessions/${forkId}/events`)
      expect(
        (await second.call('POST', `/sessions/${forkId}/prompt`, { text: 'again, forked' })).status,
      ).toBe(202)
      const forkEcho = await forkEvents.waitFor(
        (e) => e.event === 'agent' && typeOf(e) === 'tool-end' && e.data.name === 'mcp__mine__echo',
        "the fork's echo",
      )
      expect(JSON.stringify(forkEcho.data)).toContain('Echo: in the fork')
      await forkEvents.waitFor((e) => e.event === 'agent' && typeOf(e) === 'result', "the fork's result")

      // bubblewrap in every run: no write outside the workspace landed.
      for (const file of ['one', 'two', 'three']) expect(existsSync(join(outside, file))).toBe(false)
      const toolsOf = (i: number) =>
        (
          (server.requests[i]?.body as { tools?: Array<{ function: { name: string } }> } | undefined)
            ?.tools ?? []
        ).map((t) => t.function.name)
      expect(toolsOf(0)).toEqual(expect.arrayContaining(['mcp__mine__echo', 'mcp__keyed__echo']))
      for (const i of [3, 5]) {
        expect(toolsOf(i)).toContain('mcp__mine__echo')
        expect(toolsOf(i).filter((name) => name.startsWith('mcp__keyed__'))).toEqual([])
      }
    })
  },
)
