/**
 * The editor side of the `tau acp` tests: the Agent Client Protocol SDK's real client spawns the
 * compiled binary the way an editor starts it, speaks ndjson JSON-RPC on its stdio, and the model
 * is the scripted server speaking OpenAI's wire format on loopback. The client's files and
 * terminals are real: a map of "editor buffers" the test can see, and real processes.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Readable, Writable } from 'node:stream'
import * as acp from '@agentclientprotocol/sdk'
import { afterAll } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { cleanEnv, HANG_LIMIT_MS, type Project, TAU_BIN, useProjects } from './run-tau.js'

const cleanups: Array<() => Promise<void>> = []
/** Registers the cleanup of every editor and scripted server a test file starts (call at its top). */
export function useEditors(): (files?: Record<string, string>) => Promise<Project> {
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  return useProjects()
}

interface Terminal {
  output: string
  exit: Promise<{ exitCode: number | null; signal: string | null }>
  child: ChildProcess
}

export interface Editor {
  readonly agent: acp.ClientContext
  readonly updates: acp.SessionNotification[]
  readonly permissions: acp.RequestPermissionRequest[]
  readonly writes: acp.WriteTextFileRequest[]
  readonly terminals: acp.CreateTerminalRequest[]
  /** Every line tau wrote to stdout (each must be a JSON-RPC message). */
  readonly stdoutLines: string[]
  readonly child: ChildProcess
  stderr(): string
  /** Ends the client's side of stdin and waits for tau to exit. */
  close(): Promise<number | null>
}

export interface EditorOptions {
  /** Answers permission requests with this option id (default: allow). */
  answer?: (request: acp.RequestPermissionRequest) => string
  /** Files the "editor" has open, by absolute path (their unsaved text). */
  buffers?: Map<string, string>
  fs?: boolean
  terminal?: boolean
  /** Leaves permission questions open until tau withdraws them. */
  holdPermission?: boolean
}

/**
 * A project whose model is a scripted server playing `turns`; `config` adds keys to its config.
 * The config is JSON: its form is not under test here, and a `tau.config.ts` costs each `tau acp`
 * a transpile (about 0.25 s of CPU).
 */
export async function fixture(
  project: (files?: Record<string, string>) => Promise<Project>,
  turns: readonly ScriptTurn[],
  config: Record<string, unknown> = {},
): Promise<{ p: Project; server: ScriptedServer }> {
  const server = await startScriptedServer({ format: 'openai', script: turns })
  cleanups.push(() => server.close())
  const p = await project({
    'tau.config.json': JSON.stringify({
      model: 'openai:scripted-model',
      providers: { openai: { baseURL: `${server.url}/v1` } },
      // Bash in the editor's terminal is what 'auto' does without bubblewrap's confinement.
      sandbox: { mode: 'off' },
      ...config,
    }),
  })
  return { p, server }
}

/** Starts `tau acp` in the project and connects the SDK's client to it. */
export function startEditor(p: Project, options: EditorOptions = {}): Editor {
  const child = spawn(process.execPath, [TAU_BIN, 'acp'], {
    cwd: p.dir,
    env: cleanEnv(p.tauHome, p.home, { OPENAI_API_KEY: 'sk-test' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const stdoutLines: string[] = []
  let partial = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n')
    partial = lines.pop() ?? ''
    stdoutLines.push(...lines.filter((line) => line !== ''))
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const updates: acp.SessionNotification[] = []
  const permissions: acp.RequestPermissionRequest[] = []
  const writes: acp.WriteTextFileRequest[] = []
  const terminalRequests: acp.CreateTerminalRequest[] = []
  const terminals = new Map<string, Terminal>()
  const buffers = options.buffers ?? new Map<string, string>()

  const app = acp
    .client({ name: 'test-editor' })
    .onNotification('session/update', ({ params }) => {
      updates.push(params)
    })
    .onRequest('session/request_permission', async ({ params, signal }) => {
      permissions.push(params)
      if (options.holdPermission) {
        // An editor's open dialog: answered `cancelled` once tau withdraws the question.
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        return { outcome: { outcome: 'cancelled' } }
      }
      return { outcome: { outcome: 'selected', optionId: options.answer?.(params) ?? 'allow' } }
    })
    .onRequest('fs/read_text_file', ({ params }) => {
      const text = buffers.get(params.path) ?? readFileSync(params.path, 'utf8')
      return { content: text }
    })
    .onRequest('fs/write_text_file', ({ params }) => {
      writes.push(params)
      buffers.set(params.path, params.content)
      return {}
    })
    .onRequest('terminal/create', ({ params }) => {
      terminalRequests.push(params)
      const id = `term-${terminals.size + 1}`
      const proc = spawn(params.command, params.args ?? [], {
        cwd: params.cwd ?? p.dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const terminal: Terminal = {
        output: '',
        child: proc,
        exit: new Promise((resolve) => proc.on('close', (exitCode, signal) => resolve({ exitCode, signal }))),
      }
      const take = (data: Buffer) => {
        terminal.output += data.toString('utf8')
      }
      proc.stdout?.on('data', take)
      proc.stderr?.on('data', take)
      terminals.set(id, terminal)
      return { terminalId: id }
    })
    .onRequest('terminal/output', async ({ params }) => {
      const terminal = terminals.get(params.terminalId)!
      const done = terminal.child.exitCode !== null || terminal.child.signalCode !== null
      return {
        output: terminal.output,
        truncated: false,
        ...(done ? { exitStatus: await terminal.exit } : {}),
      }
    })
    .onRequest('terminal/wait_for_exit', async ({ params }) => terminals.get(params.terminalId)!.exit)
    .onRequest('terminal/kill', ({ params }) => {
      terminals.get(params.terminalId)?.child.kill()
      return {}
    })
    .onRequest('terminal/release', ({ params }) => {
      terminals.get(params.terminalId)?.child.kill()
      terminals.delete(params.terminalId)
      return {}
    })
  const connection = app.connect(
    acp.ndJsonStream(
      Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>,
      Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>,
    ),
  )
  const editor: Editor = {
    agent: connection.agent,
    updates,
    permissions,
    writes,
    terminals: terminalRequests,
    stdoutLines,
    child,
    stderr: () => stderr,
    async close() {
      child.stdin?.end()
      const code = await exited
      connection.close()
      return code
    },
  }
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return editor
}

export async function initialize(
  editor: Editor,
  options: EditorOptions = {},
): Promise<acp.InitializeResponse> {
  return editor.agent.request('initialize', {
    protocolVersion: acp.PROTOCOL_VERSION,
    clientCapabilities: {
      fs: { readTextFile: options.fs === true, writeTextFile: options.fs === true },
      terminal: options.terminal === true,
    },
    clientInfo: { name: 'test-editor', version: '1.0.0' },
  })
}

/** Polls until `check` holds (no fixed sleeps). */
export async function until(
  check: () => boolean,
  what: string,
  editor: Editor,
  timeoutMs = HANG_LIMIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${editor.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export function updatesOf<K extends acp.SessionUpdate['sessionUpdate']>(
  editor: Editor,
  kind: K,
): Array<Extract<acp.SessionUpdate, { sessionUpdate: K }>> {
  return editor.updates
    .map((n) => n.update)
    .filter((u): u is Extract<acp.SessionUpdate, { sessionUpdate: K }> => u.sessionUpdate === kind)
}

export function messageText(editor: Editor, kind: 'agent_message_chunk' | 'user_message_chunk'): string {
  return updatesOf(editor, kind)
    .map((u) => (u.content.type === 'text' ? u.content.text : ''))
    .join('')
}

/** The text of every message the model was sent in its last request. */
export function lastRequestText(server: ScriptedServer): string {
  return JSON.stringify(server.requests.at(-1)?.body ?? {})
}
