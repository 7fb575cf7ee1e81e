/**
 * Tool processes die with tau. On Linux a command runs under a tiny launcher: util-linux's
 * `setpriv --pdeathsig USR1` makes the kernel signal the launcher shell when tau dies (even by
 * SIGKILL), and the shell's trap then kills its whole process group, so the command's children
 * and grandchildren go too (a process that leaves the group with setsid escapes; bubblewrap's
 * PID namespace is what catches those). USR1, not TERM: tau's own SIGTERM to the group when a
 * command times out must reach the command with its grace period, not kill it outright.
 *
 * The launcher keeps the command's stdin (an `&` job's would be /dev/null), waits through
 * signals it traps, and exits as the command did: with its code, or re-raising its signal.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const LAUNCHER_SCRIPT = [
  "trap 'kill -KILL 0' USR1",
  'trap : TERM',
  'exec 3<&0',
  '"$@" <&3 3<&- &',
  'p=$!',
  'exec 3<&-',
  'while :; do wait "$p"; s=$?; kill -0 "$p" 2>/dev/null || break; done',
  'if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then trap - TERM USR1; kill -s "$((s - 128))" "$$" 2>/dev/null; fi',
  'exit "$s"',
].join('\n')

let found: string | null | undefined

/** The setpriv binary when it supports --pdeathsig (util-linux 2.33+), else null. Probed once. */
export function pdeathsigLauncher(): string | null {
  if (found !== undefined) return found
  found = null
  if (process.platform !== 'linux') return found
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    if (!existsSync(candidate)) continue
    const probe = spawnSync(candidate, ['--pdeathsig', 'USR1', '--', '/bin/sh', '-c', 'exit 0'], {
      stdio: 'ignore',
      timeout: 5000,
    })
    if (probe.status === 0) {
      found = candidate
      break
    }
  }
  return found
}

/** The argv that runs `argv` so that it dies with tau, or `argv` itself where no launcher exists. */
export function withLauncher(
  argv: readonly string[],
  setpriv: string | null = pdeathsigLauncher(),
): string[] {
  if (!setpriv) return [...argv]
  return [setpriv, '--pdeathsig', 'USR1', '--', '/bin/sh', '-c', LAUNCHER_SCRIPT, 'tau-launcher', ...argv]
}
