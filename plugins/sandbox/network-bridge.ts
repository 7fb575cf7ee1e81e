/**
 * Inside the sandbox, the way to the proxy: the network namespace has only loopback, so socat
 * listens on 127.0.0.1:3128 there and carries each connection to the proxy's Unix socket, bound
 * in at /run/tau-proxy.sock (Unix sockets are files, and cross network namespaces). The command
 * starts once the port is listening, with the proxy variables set; socat dies with the sandbox's
 * PID namespace when the command ends.
 */
import { existsSync } from 'node:fs'
import { PROXY_PORT } from './network-proxy.js'

export const PROXY_SOCKET_INSIDE = '/run/tau-proxy.sock'

/** socat on the host (the sandbox sees the host's /usr read-only), or undefined. */
export function socatPath(): string | undefined {
  return ['/usr/bin/socat', '/bin/socat', '/usr/local/bin/socat'].find((path) => existsSync(path))
}

/** 127.0.0.1:3128 as /proc/net/tcp shows a listening socket (state 0A). */
const LISTENING = ` 0100007F:${PROXY_PORT.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A `

/** The script that starts the bridge, waits (bounded) until it listens, then runs the command. */
export const BRIDGE_SCRIPT = [
  's="$1"; shift',
  `"$s" TCP-LISTEN:${PROXY_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${PROXY_SOCKET_INSIDE} </dev/null >/dev/null 2>&1 &`,
  'i=0',
  `while ! grep -q '${LISTENING}' /proc/net/tcp 2>/dev/null; do i=$((i + 1)); [ "$i" -gt 1000 ] && break; sleep 0.005; done`,
  'exec "$@"',
].join('\n')

export function bridgedCommand(socat: string, argv: readonly string[]): string[] {
  return ['/bin/sh', '-c', BRIDGE_SCRIPT, 'tau-proxy-bridge', socat, ...argv]
}

/** What tools read to find a proxy: curl, git, pip, npm, wget (lower and upper case), Node 24+. */
export function proxyEnv(): Record<string, string> {
  const http = `http://127.0.0.1:${PROXY_PORT}`
  const socks = `socks5h://127.0.0.1:${PROXY_PORT}`
  return {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    http_proxy: http,
    https_proxy: http,
    ALL_PROXY: socks,
    all_proxy: socks,
    NO_PROXY: '',
    no_proxy: '',
    NODE_USE_ENV_PROXY: '1',
  }
}
