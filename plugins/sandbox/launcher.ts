/**
 * Tool processes die with tau. On Linux a command runs under a tiny launcher: util-linux's
 * `setpriv --pdeathsig USR1` makes the kernel signal the launcher shell when tau dies (even by
 * SIGKILL), and the shell's trap then kills its whole process group, so the command's children
 * and grandchildren go too (a process that leaves the group with setsid escapes; bubblewrap's
 * PID namespace is what catches those). USR1, not TERM: tau's own SIGTERM to the group when a
 * command times out must reach the command with its grace period, not kill it outright.
 *
 * The death signal is armed by setpriv's prctl after tau has started it: a tau that dies before
 * that prctl sends no signal. So the launcher, once armed, checks that its parent is still tau
 * (its pid is passed in; `$PPID` is the shell's getppid at start, after the prctl) and runs
 * nothing otherwise: an orphan's parent is init or a subreaper, never tau's pid.
 *
 * The launcher keeps the command's stdin (an `&` job's would be /dev/null), waits through
 * signals it traps, and exits as the command did: with its code, or re-raising its signal.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/** The exit code of a launcher that found tau gone before the command started (nobody reads it). */
export const TAU_GONE_EXIT = 125

/** Runs the command after `$PPID` is checked against tau's pid; the trap comes first, so no signal is missed. */
export const LAUNCHER_SCRIPT = [
  "trap 'kill -KILL 0' USR1",
  'trap : TERM',
  `[ "$PPID" = "$1" ] || exit ${TAU_GONE_EXIT}`,
  'shift',
  'exec 3<&0',
  '"$@" <&3 3<&- &',
  'p=$!',
  'exec 3<&-',
  'while :; do wait "$p"; s=$?; kill -0 "$p" 2>/dev/null || break; done',
  'if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then trap - TERM USR1; kill -s "$((s - 128))" "$$" 2>/dev/null; fi',
  'exit "$s"',
].join('\n')

/**
 * The launcher inside bubblewrap, which runs it as the sandbox's PID 1 (`--as-pid-1`): bwrap has
 * armed --die-with-parent in its outer process and in this one before exec, but a tau that died
 * before either prctl sent no signal. So the launcher asks tau, on fd 3 (a socket pair whose
 * other end only tau holds), for a go-ahead: tau answers a question asked after both prctls,
 * so both were made while their parents lived. EOF, or a write that fails, is tau gone: exit
 * without running the command. As PID 1 it reaps orphans while it waits (dash's wait reaps any
 * child); when it exits, the kernel ends every process of the namespace.
 */
export const SANDBOX_LAUNCHER_SCRIPT = [
  `{ printf 'r' >&3 && read -r go <&3 && [ "$go" = g ]; } 2>/dev/null || exit ${TAU_GONE_EXIT}`,
  'exec 3<&0',
  '"$@" <&3 3<&- &',
  'p=$!',
  'exec 3<&-',
  'while :; do wait "$p"; s=$?; kill -0 "$p" 2>/dev/null || break; done',
  'exit "$s"',
].join('\n')

/** What tau answers the sandbox launcher's question with. */
export const GO_AHEAD = 'g\n'

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

/**
 * The argv that runs `argv` so that it dies with tau, or `argv` itself where no launcher exists.
 * `parent` is the pid of the process that spawns it (tau).
 */
export function withLauncher(
  argv: readonly string[],
  setpriv: string | null = pdeathsigLauncher(),
  parent: number = process.pid,
): string[] {
  if (!setpriv) return [...argv]
  return [
    setpriv,
    '--pdeathsig',
    'USR1',
    '--',
    '/bin/sh',
    '-c',
    LAUNCHER_SCRIPT,
    'tau-launcher',
    String(parent),
    ...argv,
  ]
}

/** The argv inside bubblewrap (after `--as-pid-1 --`): `argv` once tau has said go on fd 3. */
export function inSandboxLauncher(argv: readonly string[]): string[] {
  return ['/bin/sh', '-c', SANDBOX_LAUNCHER_SCRIPT, 'tau-sandbox', ...argv]
}
