/** `tau serve` as a process of the real binary, for the end-to-end tests (serve, web UI). */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStream, type SseStream } from '../plugins/serve/sse-client.js'
import { type Project, type TauProcess, waitUntil } from './run-tau.js'

export interface Serving {
  proc: TauProcess
  url: string
  token: string
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>
  stream(path: string, headers?: Record<string, string>): Promise<SseStream>
}

/**
 * `tau serve --port 0` in the project; resolves once it listens. `closers` gets what to stop. `env`
 * is the process's environment on top of run-tau's clean one (default: an OpenAI key).
 */
export async function startServe(
  p: Project,
  closers: Array<() => unknown>,
  env: Record<string, string> = { OPENAI_API_KEY: 'sk-test' },
): Promise<Serving> {
  // A server lives as long as its tests (they stop it through `closers`; vitest's limits catch a
  // hang), not run-tau's per-process hang limit: a file's tests can take minutes on a busy machine.
  const proc = p.spawn(['serve', '--port', '0'], { env, timeoutMs: 30 * 60_000 })
  closers.push(() => {
    if (!proc.exited) proc.child.kill('SIGKILL')
  })
  let url = ''
  await waitUntil(
    () => {
      url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output())?.[1] ?? ''
      return url !== ''
    },
    'tau serve listening',
    proc,
  )
  const token = readFileSync(join(p.tauHome, 'serve', 'token'), 'utf8').trim()
  return {
    proc,
    url,
    token,
    async call(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
    },
    async stream(path, headers = {}) {
      const stream = await openStream(`${url}${path}`, token, headers)
      closers.push(() => stream.close())
      return stream
    },
  }
}
