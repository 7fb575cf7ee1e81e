/**
 * The editor's MCP servers in ACP `session/new`: connected for that session only, through the
 * compiled `tau acp` and the SDK's real client. server-everything runs as the editor's stdio
 * server and, on loopback, as its streamable-HTTP and SSE servers; a second session of the same
 * process is offered none of their tools, commands of their prompts, or them in `/mcp`. The servers are the session's settings, kept in its log
 * (without the literal env values, which may be secrets): a second `tau acp` loads the session with
 * no servers of the editor's and the logged one is there again.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectKey } from '../../plugins/session/index.js'
import { fixture, initialize, startEditor, until, updatesOf, useEditors } from './acp-editor.js'
import { HANG_LIMIT_MS } from './run-tau.js'

const EVERYTHING_MAIN = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
)
const project = useEditors()
const remotes: ChildProcess[] = []

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** server-everything in an HTTP mode on a loopback port, once it says it listens. */
async function everything(mode: 'streamableHttp' | 'sse'): Promise<number> {
  const port = await freePort()
  const child = spawn(process.execPath, [EVERYTHING_MAIN, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  remotes.push(child)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server-everything ${mode} did not start`)),
      HANG_LIMIT_MS,
    )
    child.stderr?.on('data', (chunk: Buffer) => {
      if (/listening|running/i.test(String(chunk))) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`server-everything ${mode} exited ${code}`)))
  })
  child.stdout?.resume()
  return port
}

let httpPort: number
let ssePort: number
beforeAll(async () => {
  ;[httpPort, ssePort] = await Promise.all([everything('streamableHttp'), everything('sse')])
})
afterAll(() => {
  for (const child of remotes) child.kill()
})

const echo = (id: string, server: string, message: string) => ({
  id,
  name: `mcp__${server}__echo`,
  input: { message },
})

describe("tau acp with the editor's MCP servers", () => {
  it('connects stdio, http and sse servers for their session only, and advertises http and sse', async () => {
    const { p, server } = await fixture(project, [
      {
        toolCalls: [
          echo('m1', 'mine', 'from stdio'),
          echo('m2', 'remote', 'from http'),
          echo('m3', 'legacy', 'from sse'),
        ],
      },
      { text: 'echoed' },
      { text: 'nothing to call' },
    ])
    const editor = startEditor(p, { answer: () => 'allow' })
    const init = await initialize(editor)
    expect(init.agentCapabilities?.mcpCapabilities).toEqual({ http: true, sse: true })
    const a = await editor.agent.request('session/new', {
      cwd: p.dir,
      mcpServers: [
        { name: 'mine', command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'], env: [] },
        { type: 'http', name: 'remote', url: `http://127.0.0.1:${httpPort}/mcp`, headers: [] },
        { type: 'sse', name: 'legacy', url: `http://127.0.0.1:${ssePort}/sse`, headers: [] },
      ],
    })
    const b = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    const first = await editor.agent.request('session/prompt', {
      sessionId: a.sessionId,
      prompt: [{ type: 'text', text: 'echo' }],
    })
    expect(first.stopReason).toBe('end_turn')
    const toolsOf = (i: number) =>
      (
        (server.requests[i]?.body as { tools?: Array<{ function: { name: string } }> } | undefined)?.tools ??
        []
      ).map((t) => t.function.name)
    expect(toolsOf(0)).toEqual(
      expect.arrayContaining(['mcp__mine__echo', 'mcp__remote__echo', 'mcp__legacy__echo']),
    )
    const completed = updatesOf(editor, 'tool_call_update').filter((u) => u.status === 'completed')
    const results = JSON.stringify(completed)
    for (const text of ['Echo: from stdio', 'Echo: from http', 'Echo: from sse'])
      expect(results).toContain(text)

    const second = await editor.agent.request('session/prompt', {
      sessionId: b.sessionId,
      prompt: [{ type: 'text', text: 'anything?' }],
    })
    expect(second.stopReason).toBe('end_turn')
    const bTools = toolsOf(server.requests.length - 1)
    expect(bTools.length).toBeGreaterThan(0)
    expect(bTools.filter((name) => name.startsWith('mcp__'))).toEqual([])

    // A's servers are A's alone: their prompts are A's commands, /mcp lists them in A.
    const commandsOf = (sessionId: string) =>
      editor.updates
        .filter((n) => n.sessionId === sessionId && n.update.sessionUpdate === 'available_commands_update')
        .flatMap((n) =>
          n.update.sessionUpdate === 'available_commands_update'
            ? n.update.availableCommands.map((c) => c.name)
            : [],
        )
    await until(() => commandsOf(a.sessionId).length > 0, "A's commands", editor)
    await until(() => commandsOf(b.sessionId).length > 0, "B's commands", editor)
    expect(commandsOf(a.sessionId)).toEqual(expect.arrayContaining(['mcp', 'mcp__mine__simple-prompt']))
    expect(commandsOf(b.sessionId).filter((name) => name.startsWith('mcp__'))).toEqual([])
    const said = (sessionId: string) =>
      editor.updates
        .filter((n) => n.sessionId === sessionId && n.update.sessionUpdate === 'agent_message_chunk')
        .map((n) => JSON.stringify(n.update))
        .join('\n')
    await editor.agent.request('session/prompt', {
      sessionId: a.sessionId,
      prompt: [{ type: 'text', text: '/mcp' }],
    })
    expect(said(a.sessionId)).toContain("mine  stdio  connected  (this session's own)")
    await editor.agent.request('session/prompt', {
      sessionId: b.sessionId,
      prompt: [{ type: 'text', text: '/mcp' }],
    })
    expect(said(b.sessionId)).toContain('No MCP servers in this session')
    expect(await editor.close()).toBe(0)
  })

  it("session/load in another tau acp runs with the session's logged servers; a literal env value stays out of the log", async () => {
    const SECRET = 'editor-literal-secret'
    const { p, server } = await fixture(project, [
      { text: 'created' },
      { toolCalls: [echo('l1', 'mine', 'after load')] },
      { text: 'loaded and echoed' },
    ])
    const editor = startEditor(p, { answer: () => 'allow' })
    await initialize(editor)
    const created = await editor.agent.request('session/new', {
      cwd: p.dir,
      mcpServers: [
        { name: 'mine', command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'], env: [] },
        {
          name: 'keyed',
          command: process.execPath,
          args: [EVERYTHING_MAIN, 'stdio'],
          env: [{ name: 'API_KEY', value: SECRET }],
        },
      ],
    })
    const sessionId = created.sessionId
    await editor.agent.request('session/prompt', { sessionId, prompt: [{ type: 'text', text: 'hello' }] })
    expect(await editor.close()).toBe(0)
    const log = await readFile(join(p.tauHome, 'projects', projectKey(p.dir), `${sessionId}.jsonl`), 'utf8')
    expect(log).not.toContain(SECRET)

    const again = startEditor(p, { answer: () => 'allow' })
    await initialize(again)
    await again.agent.request('session/load', { sessionId, cwd: p.dir, mcpServers: [] })
    const loaded = await again.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'echo' }],
    })
    expect(loaded.stopReason).toBe('end_turn')
    const tools = (
      (server.requests[1]?.body as { tools?: Array<{ function: { name: string } }> } | undefined)?.tools ?? []
    ).map((t) => t.function.name)
    expect(tools).toContain('mcp__mine__echo')
    expect(tools.filter((name) => name.startsWith('mcp__keyed__'))).toEqual([])
    const completed = updatesOf(again, 'tool_call_update').filter((u) => u.status === 'completed')
    expect(JSON.stringify(completed)).toContain('Echo: after load')
    expect(await again.close()).toBe(0)
  })
})
