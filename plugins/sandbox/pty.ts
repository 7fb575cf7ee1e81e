/**
 * Pseudo-terminals for commands without a native module: util-linux script (Linux) opens one and
 * runs the command on it.
 */
import { existsSync } from 'node:fs'

/** util-linux script, which gives a command a pseudo-terminal without a native module (Linux). */
export const PTY_HELPER =
  process.platform === 'linux'
    ? ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path))
    : undefined

/** Whether spawn() can give a process a pseudo-terminal here (util-linux script is installed). */
export function ptyAvailable(): boolean {
  return PTY_HELPER !== undefined
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
}

/** `argv` run on a pseudo-terminal by `helper` (script): -e gives back its exit code, /dev/null keeps no log. */
export function onPty(helper: string, argv: readonly string[]): string[] {
  return [helper, '-qefc', argv.map(shellQuote).join(' '), '/dev/null']
}
