/**
 * Opening an authorization URL in the user's browser, for `tau mcp login` in a terminal. Only
 * when stdout is a terminal (never in tests or pipes), never with `--no-browser`, and `BROWSER`
 * picks the program (`BROWSER=none` opens nothing). The URL is always printed as well.
 */
import { spawn } from 'node:child_process'
import { buildProcessEnv, createEnvAllowlist } from '../sandbox/index.js'

/** What a browser launcher needs besides the usual allowlist: the display and session bus. */
const BROWSER_ENV = ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'BROWSER']

/** The program and arguments that open `url` here, or undefined when nothing should. */
export function browserCommand(
  url: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): [string, string[]] | undefined {
  const chosen = env.BROWSER?.trim()
  if (chosen === 'none' || chosen === '') return undefined
  if (chosen) return [chosen, [url]]
  if (platform === 'darwin') return ['open', [url]]
  // Not `cmd /c start`: cmd would read the `&` of a query string as a command separator.
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]]
  return ['xdg-open', [url]]
}

/** Starts the browser on `url`; false when it was not tried or could not start (the URL is printed anyway). */
export function openInBrowser(url: string, env: NodeJS.ProcessEnv): boolean {
  // The URL comes from a server's metadata: only web pages are handed to a launcher.
  if (!isWebUrl(url)) return false
  const command = browserCommand(url, env)
  if (!command) return false
  try {
    const child = spawn(command[0], command[1], {
      detached: true,
      stdio: 'ignore',
      env: buildProcessEnv(env, createEnvAllowlist(BROWSER_ENV), {}),
    })
    child.on('error', () => undefined)
    child.unref()
    return true
  } catch {
    return false
  }
}

/** http: or https:, nothing a launcher would run or open locally (file:, javascript:, custom schemes). */
export function isWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url)
    return protocol === 'https:' || protocol === 'http:'
  } catch {
    return false
  }
}
