/**
 * The life of a stdio MCP server's process, so that none outlives tau: it runs in a process
 * group of its own (POSIX), so the children it starts end with it; closing it ends its stdin,
 * then after a grace sends SIGTERM to the group, then SIGKILL, and resolves only once the server
 * has exited (what kernel.stop() waits for); and should tau exit before a close has finished
 * (a teardown past its time limit, a second Ctrl-C), an exit hook kills what is left.
 */
import type { ChildProcess } from 'node:child_process'

/** How long the children a server left behind have after SIGTERM, before SIGKILL. */
const STRAGGLER_GRACE_MS = 500

/** Process groups of live servers (POSIX): the leader's pid, and whether a close began. */
const groups = new Map<number, { closing: boolean }>()
let exitHook = false

/** Whether servers get a process group of their own (not on Windows, where there are none). */
export const OWN_GROUP = process.platform !== 'win32'

/** Sends `signal` to the server's group (or to the process alone on Windows). False once gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  const pid = child.pid
  if (pid === undefined) return false
  try {
    if (OWN_GROUP) process.kill(-pid, signal)
    else if (signal === 0) return child.exitCode === null && child.signalCode === null
    else child.kill(signal)
    return true
  } catch {
    return false
  }
}

/** At tau's exit (synchronous: no waiting is possible any more), ends every group still there. */
function onExit(): void {
  for (const [pid, state] of groups) {
    try {
      // A close that began had its grace; a server never closed gets the signal it can handle.
      process.kill(-pid, state.closing ? 'SIGKILL' : 'SIGTERM')
    } catch {
      // already gone
    }
  }
  groups.clear()
}

/** Keeps track of a spawned server's group until it and its children are gone. */
export function trackServer(child: ChildProcess): void {
  const pid = child.pid
  if (!OWN_GROUP || pid === undefined) return
  const state = { closing: false }
  groups.set(pid, state)
  child.once('exit', () => {
    if (state.closing) return
    // It died on its own: what it started in its group must not be left running.
    signalGroup(child, 'SIGTERM')
    groups.delete(pid)
  })
  if (!exitHook) {
    exitHook = true
    process.on('exit', onExit)
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Ends a server: stdin closed (a well-behaved server exits), SIGTERM to its group after the
 * grace, SIGKILL after another; resolves once the process has exited and the children it left in
 * its group were ended too.
 */
export async function terminateServer(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid
  if (pid === undefined) return
  const state = groups.get(pid)
  if (state) state.closing = true
  const exit = new Promise<void>((resolve) => {
    if (exited(child)) resolve()
    else child.once('exit', () => resolve())
  })
  const waitUpTo = (ms: number) => {
    let timer: NodeJS.Timeout | undefined
    return Promise.race([exit, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(
      () => clearTimeout(timer),
    )
  }
  try {
    child.stdin?.end()
  } catch {
    // already closed
  }
  await waitUpTo(graceMs)
  if (!exited(child)) {
    signalGroup(child, 'SIGTERM')
    await waitUpTo(graceMs)
  }
  if (!exited(child)) {
    signalGroup(child, 'SIGKILL')
    await exit
  }
  // The server is gone; what it started in its group goes too (a group outlives its leader).
  if (OWN_GROUP && signalGroup(child, 0)) {
    signalGroup(child, 'SIGTERM')
    for (let waited = 0; waited < STRAGGLER_GRACE_MS && signalGroup(child, 0); waited += 25) await sleep(25)
    signalGroup(child, 'SIGKILL')
  }
  groups.delete(pid)
}
