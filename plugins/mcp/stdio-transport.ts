/**
 * tau's own stdio transport for MCP servers. The SDK's StdioClientTransport appends each chunk
 * to one Buffer (a copy of everything pending per chunk, and a rescan for the newline: quadratic
 * in a message's size), and a message past its 10 MB cap closes the whole connection, failing
 * every call in flight. Here the read path is linear (each byte is scanned once, a message is
 * joined once), and a message larger than `maxMessageBytes` fails only the request it answers.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { messageOf } from '../../kernel/index.js'
import { OWN_GROUP, terminateServer, trackServer } from './server-process.js'

/** JSON-RPC's "internal error": what the oversized answer becomes for the call that waits for it. */
const INTERNAL_ERROR = -32603

/** How much of an oversized message is kept (its start and its end) to find the request's id. */
const EDGE_BYTES = 512

export interface StdioTransportOptions {
  /** The server's name, for the error messages. */
  readonly server: string
  readonly command: string
  readonly args: readonly string[]
  readonly cwd: string
  readonly env: Record<string, string>
  readonly maxMessageBytes: number
  /** How long the server has to exit after its stdin closes, and again after SIGTERM. */
  readonly stopGraceMs: number
  /** Checks a parsed line is a JSON-RPC message (the SDK's schema), throwing if not. */
  readonly validate: (value: unknown) => JSONRPCMessage
}

/** What the reader makes of a finished line. */
export type LineOutcome =
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'too-large'; readonly bytes: number; readonly id: string | number | undefined }

/**
 * Newline-delimited messages from a byte stream cut anywhere. A newline byte never occurs inside
 * a UTF-8 character, so lines are found on bytes and decoded once, whole.
 */
export class LineReader {
  private parts: Buffer[] = []
  private size = 0
  /** Set once the current line passed the cap: its bytes are dropped, its edges kept. */
  private head: Buffer | undefined
  private tail: Buffer | undefined
  /** Bytes examined so far: what the linear-work test counts. */
  scanned = 0

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): LineOutcome[] {
    const out: LineOutcome[] = []
    let start = 0
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      this.scanned += end + 1 - start
      this.add(chunk.subarray(start, end))
      out.push(this.finish())
      start = end + 1
    }
    this.scanned += chunk.length - start
    if (start < chunk.length) this.add(chunk.subarray(start))
    return out
  }

  private add(piece: Buffer): void {
    if (piece.length === 0) return
    if (this.head !== undefined) {
      this.size += piece.length
      this.keepTail(piece)
      return
    }
    this.parts.push(piece)
    this.size += piece.length
    if (this.size > this.maxBytes) {
      // Past the cap: keep the edges (where the id is) and drop the rest as it comes.
      const all = Buffer.concat(this.parts)
      this.head = Buffer.from(all.subarray(0, EDGE_BYTES))
      this.tail = Buffer.alloc(0)
      this.keepTail(all)
      this.parts = []
    }
  }

  private keepTail(piece: Buffer): void {
    const joined = Buffer.concat([this.tail ?? Buffer.alloc(0), piece.subarray(-EDGE_BYTES)])
    this.tail = Buffer.from(joined.subarray(-EDGE_BYTES))
  }

  private finish(): LineOutcome {
    const size = this.size
    this.size = 0
    if (this.head !== undefined) {
      const id = requestIdOf(this.head.toString('utf8'), this.tail?.toString('utf8') ?? '')
      this.head = undefined
      this.tail = undefined
      return { kind: 'too-large', bytes: size, id }
    }
    const text =
      this.parts.length === 1 ? this.parts[0]!.toString('utf8') : Buffer.concat(this.parts).toString('utf8')
    this.parts = []
    return { kind: 'line', text: text.endsWith('\r') ? text.slice(0, -1) : text }
  }
}

const ID = String.raw`"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")`

/**
 * The id of a JSON-RPC response seen only by its edges: the SDK's servers write `id` last
 * (`{"result":…,"jsonrpc":"2.0","id":7}`), others first (`{"jsonrpc":"2.0","id":7,"result":…}`).
 */
export function requestIdOf(head: string, tail: string): string | number | undefined {
  const last = new RegExp(`${ID}\\s*}\\s*\\r?$`).exec(tail)
  const first = new RegExp(`^\\s*{\\s*(?:"jsonrpc"\\s*:\\s*"2\\.0"\\s*,\\s*)?${ID}`).exec(head)
  const raw = last?.[1] ?? first?.[1]
  if (raw === undefined) return undefined
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw)
}

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${bytes} bytes`
}

export class StdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  /** The server's stderr, available before start() so no early line is lost. */
  readonly stderr = new PassThrough()
  private child: ChildProcess | undefined
  /** The close in progress: a second close() (stop during a failed attempt's) waits for the same exit. */
  private closing: Promise<void> | undefined
  private readonly reader: LineReader

  constructor(private readonly options: StdioTransportOptions) {
    this.reader = new LineReader(options.maxMessageBytes)
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  start(): Promise<void> {
    if (this.child)
      throw new Error(`MCP server '${this.options.server}': the stdio transport is already started`)
    return new Promise((resolve, reject) => {
      // node:child_process without a shell (cross-spawn, which the SDK uses, matters on Windows only).
      const child = spawn(this.options.command, [...this.options.args], {
        cwd: this.options.cwd,
        env: this.options.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        // A process group of its own: the children it starts are ended with it (server-process.ts).
        detached: OWN_GROUP,
      })
      this.child = child
      trackServer(child)
      child.on('error', (error) => {
        reject(error)
        this.onerror?.(error)
      })
      child.on('spawn', () => resolve())
      child.on('close', () => {
        this.child = undefined
        this.onclose?.()
      })
      child.stdin?.on('error', (error) => this.onerror?.(error))
      child.stdout?.on('error', (error) => this.onerror?.(error))
      child.stdout?.on('data', (chunk: Buffer) => this.read(chunk))
      child.stderr?.pipe(this.stderr)
    })
  }

  private read(chunk: Buffer): void {
    for (const outcome of this.reader.push(chunk)) {
      if (outcome.kind === 'too-large') {
        this.tooLarge(outcome.bytes, outcome.id)
        continue
      }
      if (outcome.text.trim() === '') continue
      let message: JSONRPCMessage
      try {
        message = this.options.validate(JSON.parse(outcome.text))
      } catch (error) {
        this.onerror?.(
          new Error(
            `MCP server '${this.options.server}' wrote a line that is not JSON-RPC: ${messageOf(error)}`,
          ),
        )
        continue
      }
      this.onmessage?.(message)
    }
  }

  /** The request the oversized message answered fails with the reason; the connection stays. */
  private tooLarge(bytes: number, id: string | number | undefined): void {
    const text = `MCP server '${this.options.server}' sent a message of ${describeBytes(bytes)}, more than its limit of ${describeBytes(this.options.maxMessageBytes)} (mcpServers.${this.options.server}.maxMessageBytes); it was dropped. Ask the tool for less (a smaller range or page), or raise the limit.`
    if (id === undefined) {
      this.onerror?.(new Error(text))
      return
    }
    this.onmessage?.({ jsonrpc: '2.0', id, error: { code: INTERNAL_ERROR, message: text } })
  }

  /** Ends the server (server-process.ts) and resolves once it has exited. */
  close(): Promise<void> {
    const child = this.child
    if (this.closing) return this.closing
    if (!child) return Promise.resolve()
    this.child = undefined
    this.closing = terminateServer(child, this.options.stopGraceMs)
    return this.closing
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin
      if (!stdin) {
        reject(new Error(`MCP server '${this.options.server}' is not connected`))
        return
      }
      if (stdin.write(`${JSON.stringify(message)}\n`)) resolve()
      else stdin.once('drain', resolve)
    })
  }
}
