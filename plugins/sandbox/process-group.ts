/**
 * Runs a shell command in its own process group, so a timeout or an abort can kill everything it
 * started (`a & b`, pipelines, test runners' workers), not only the shell. Plain child_process:
 * execa's timeout signals only the direct child, and group signalling needs the pid anyway.
 *
 * Ending a command: SIGTERM to the group; once the group is empty, or after the grace period,
 * SIGKILL. A command that exits normally but leaves a background job holding its output open is
 * not waited for: once the shell has exited and the output has been quiet for a moment, the
 * result is returned (the job keeps running, as with `nohup`).
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import type { ExecResult } from './environment.js'
import { GO_AHEAD } from './launcher.js'

export interface GroupRunOptions {
  readonly command: string
  /**
   * What really runs, when it is not `/bin/sh -c command`: a launcher or a sandbox around it
   * (`command` then only names it). Not on Windows.
   */
  readonly argv?: readonly string[]
  readonly cwd: string
  readonly env: Record<string, string>
  /**
   * The command asks on fd 3 (a socket pair) whether tau is still there, and runs only once
   * answered (launcher.ts, SANDBOX_LAUNCHER_SCRIPT). Not on Windows.
   */
  readonly goAhead?: boolean
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void
  readonly input?: string
  /** Keep stdin open for write() (spawn); `input` is then ignored. */
  readonly keepInput?: boolean
  /** Between SIGTERM and SIGKILL. */
  readonly killGraceMs: number
  /** Characters kept per stream; the middle of longer output is dropped with a note. */
  readonly maxOutputChars?: number
}

/** A running command, for the environment to end when its session is disposed. */
export interface RunningProcess {
  readonly result: Promise<ExecResult>
  terminate(): void
  /** Writes to stdin (with keepInput). */
  write(data: string): void
  /** Closes stdin. */
  endInput(): void
}

/** Quiet time after the shell exits before output still held open by background jobs is let go. */
const DRAIN_MS = 200
/** How often to look whether a signalled group is empty. */
const POLL_MS = 25
const DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024

/** Keeps the head and the tail of a stream's output within a character budget. */
class OutputBuffer {
  private head = ''
  private tail: string[] = []
  private tailLength = 0
  private dropped = 0
  constructor(private readonly max: number) {}

  push(chunk: string): void {
    const half = Math.floor(this.max / 2)
    if (this.head.length < half) {
      const room = half - this.head.length
      this.head += chunk.slice(0, room)
      chunk = chunk.slice(room)
      if (!chunk) return
    }
    this.tail.push(chunk)
    this.tailLength += chunk.length
    while (this.tailLength > this.max - half && this.tail.length > 0) {
      const excess = this.tailLength - (this.max - half)
      const first = this.tail[0]!
      if (first.length <= excess) {
        this.tail.shift()
        this.tailLength -= first.length
        this.dropped += first.length
      } else {
        this.tail[0] = first.slice(excess)
        this.tailLength -= excess
        this.dropped += excess
      }
    }
  }

  text(): string {
    const tail = this.tail.join('')
    return this.dropped > 0
      ? `${this.head}\n[... ${this.dropped} characters of output omitted ...]\n${tail}`
      : this.head + tail
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Whether any live member is left in a process group. Zombies do not count: where PID 1 does not
 * reap orphans (some containers), killed members linger as zombies and would hold the group
 * "alive" until the grace period ends. Linux reads /proc; elsewhere signal 0 decides.
 */
function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false
  if (process.platform !== 'linux') return true
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57)
  } catch {
    return true
  }
  for (const pid of pids) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    } catch {
      continue
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true
  }
  return false
}

export function runInGroup(options: GroupRunOptions): RunningProcess {
  const started = performance.now()
  if (options.signal?.aborted) {
    return {
      result: Promise.resolve({
        exitCode: null,
        signal: null,
        stdout: '',
        stderr: '',
        timedOut: false,
        aborted: true,
        durationMs: 0,
      }),
      terminate() {},
      write() {},
      endInput() {},
    }
  }
  const windows = process.platform === 'win32'
  const child = windows
    ? spawn(process.env.COMSPEC ?? 'cmd.exe', ['/d', '/s', '/c', options.command], {
        cwd: options.cwd,
        env: options.env,
        windowsHide: true,
        windowsVerbatimArguments: true,
      })
    : spawn(options.argv?.[0] ?? '/bin/sh', options.argv ? options.argv.slice(1) : ['-c', options.command], {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: options.goAhead ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      })
  // fd 3 of the child: one question, one answer. Only this process holds this end (libuv makes
  // it close-on-exec), so when tau dies the launcher reads EOF and runs nothing.
  const question = options.goAhead ? (child.stdio[3] as Socket | null) : null
  if (question) {
    question.on('error', () => {})
    question.once('data', () => question.end(GO_AHEAD))
  }

  let timedOut = false
  let aborted = false
  let exit: { code: number | null; signal: string | null } | undefined
  let stdoutOpen = true
  let stderrOpen = true
  let terminating = false
  let groupDone = true
  let settled = false
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
    return timer
  }

  const max = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT
  const out = { stdout: new OutputBuffer(max), stderr: new OutputBuffer(max) }
  let drainTimer: NodeJS.Timeout | undefined

  let resolveResult!: (result: ExecResult) => void
  let rejectResult!: (error: Error) => void
  const result = new Promise<ExecResult>((res, rej) => {
    resolveResult = res
    rejectResult = rej
  })

  const cleanup = () => {
    settled = true
    question?.destroy()
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    options.signal?.removeEventListener('abort', onAbort)
  }

  const maybeFinish = () => {
    if (settled || !exit || !groupDone) return
    if (stdoutOpen || stderrOpen) {
      // Output still open after the shell exited: a background job holds it. Give it a quiet moment.
      if (!drainTimer) drainTimer = later(DRAIN_MS, letGo)
      return
    }
    cleanup()
    resolveResult({
      exitCode: exit.code,
      signal: exit.signal,
      stdout: out.stdout.text(),
      stderr: out.stderr.text(),
      timedOut,
      aborted,
      durationMs: Math.round(performance.now() - started),
    })
  }

  const letGo = () => {
    drainTimer = undefined
    child.stdout?.destroy()
    child.stderr?.destroy()
    stdoutOpen = false
    stderrOpen = false
    maybeFinish()
  }

  const terminate = () => {
    if (terminating || settled || child.pid === undefined) return
    terminating = true
    groupDone = false
    const pid = child.pid
    if (windows) {
      spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true }).on('error', () => {})
      groupDone = true
      return
    }
    signalGroup(pid, 'SIGTERM')
    const deadline = performance.now() + options.killGraceMs
    const poll = () => {
      if (!groupAlive(pid)) {
        groupDone = true
        maybeFinish()
        return
      }
      if (performance.now() >= deadline) {
        signalGroup(pid, 'SIGKILL')
        groupDone = true
        // Killed processes close their output at once; don't wait on stragglers outside the group.
        later(DRAIN_MS, letGo)
        maybeFinish()
        return
      }
      later(POLL_MS, poll)
    }
    later(POLL_MS, poll)
  }

  function onAbort() {
    aborted = true
    terminate()
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
    later(options.timeoutMs, () => {
      if (exit) return
      timedOut = true
      terminate()
    })
  }

  for (const name of ['stdout', 'stderr'] as const) {
    const stream = child[name]
    const decoder = new StringDecoder('utf8')
    const take = (text: string) => {
      if (!text) return
      out[name].push(text)
      options.onOutput?.(text, name)
      // Output after exit resets the quiet period.
      if (drainTimer) {
        clearTimeout(drainTimer)
        timers.delete(drainTimer)
        drainTimer = later(DRAIN_MS, letGo)
      }
    }
    stream.on('data', (chunk: Buffer) => take(decoder.write(chunk)))
    stream.on('error', () => {})
    stream.on('close', () => {
      take(decoder.end())
      if (name === 'stdout') stdoutOpen = false
      else stderrOpen = false
      maybeFinish()
    })
  }

  child.stdin.on('error', () => {})
  if (!options.keepInput) child.stdin.end(options.input ?? '')

  child.on('error', (error) => {
    if (settled || exit) return
    cleanup()
    rejectResult(error)
  })
  child.on('exit', (code, signal) => {
    exit = { code, signal }
    maybeFinish()
  })

  return {
    result,
    terminate,
    write(data) {
      if (!child.stdin.writableEnded) child.stdin.write(data)
    },
    endInput() {
      if (!child.stdin.writableEnded) child.stdin.end()
    },
  }
}
