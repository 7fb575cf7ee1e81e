#!/usr/bin/env node
/**
 * `tau serve`: what HTTP + SSE add to a run, and how 20 sessions at once go through one server.
 * Both sides talk to the same scripted model server (OpenAI's wire format, in this process, on
 * 127.0.0.1), which answers at once.
 *
 *   A (serve)       `node dist/bin/tau.js serve --port 0` (the coding preset), one session per
 *                   round: the SSE stream is open, then POST /sessions/{id}/prompt; timed from
 *                   just before the POST to the first `text-delta` event read from the stream.
 *   B (in-process)  createAgent() from dist/sdk (the same preset and config) in this process:
 *                   timed from session.run() to its first `text-delta` event.
 *   C (throughput)  20 sessions created on the server of A, each prompted at once (every
 *                   session: one TodoWrite call, then the answer: two model calls); timed from
 *                   the first POST to the 20th `result` event; sessions/s and model turns/s.
 *   D (own MCP)     as A, but each session is created with its own MCP server (POST /sessions
 *                   `mcpServers`: server-everything over stdio): the POST /sessions answer, and
 *                   POST prompt to the first `text-delta` (the run waits for the server's connect).
 *
 * Figures only, no assertions (docs/benchmarks.md). Usage: node bench/serve.mjs [rounds]
 * (needs npm run build; default 20 rounds). TAU_HOME is a fresh temporary directory; the real
 * home directory is never touched, and no request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const loadAtStart = loadavg()[0]
const root = fileURLToPath(new URL('..', import.meta.url))
const rounds = Number(process.argv[2] ?? 20)
const SESSIONS = 20
const { startScriptedServer } = await import(join(root, 'dist/plugins/provider-scripted/server.js'))
const { createAgent } = await import(join(root, 'dist/sdk/create-agent.js'))

const work = mkdtempSync(join(tmpdir(), 'tau-bench-serve-'))
const project = join(work, 'project')
const tauHome = join(work, 'home')
mkdirSync(project)
mkdirSync(tauHome)
const model = await startScriptedServer({ format: 'openai', script: [] })
const config = {
  preset: 'coding',
  model: 'openai:scripted-model',
  providers: { openai: { baseURL: `${model.url}/v1` } },
  sandbox: { mode: 'off' },
}
writeFileSync(
  join(project, 'tau.config.ts'),
  `import { defineConfig } from 'tau'\nexport default defineConfig(${JSON.stringify(config)})\n`,
)
const env = {
  PATH: process.env.PATH,
  TAU_HOME: tauHome,
  HOME: work,
  NO_COLOR: '1',
  TAU_TRUST: '1',
  OPENAI_API_KEY: 'sk-bench',
}
process.env.OPENAI_API_KEY = 'sk-bench'

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// ---- the server ----------------------------------------------------------------------------
const serve = spawn(process.execPath, [join(root, 'dist/bin/tau.js'), 'serve', '--port', '0'], {
  cwd: project,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
})
let out = ''
serve.stdout.setEncoding('utf8').on('data', (chunk) => {
  out += chunk
})
const url = await new Promise((resolve, reject) => {
  const deadline = setTimeout(() => reject(new Error(`tau serve did not start: ${out}`)), 30_000)
  const check = setInterval(() => {
    const found = /listening on (http:\/\/[\d.:]+)/.exec(out)
    if (found) {
      clearInterval(check)
      clearTimeout(deadline)
      resolve(found[1])
    }
  }, 10)
})
const token = readFileSync(join(tauHome, 'serve', 'token'), 'utf8').trim()
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
const post = (path, body) =>
  fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }).then((r) => r.json())

/** Reads the session's SSE stream; `until(event)` resolves when an agent event matches. */
async function follow(id) {
  const controller = new AbortController()
  const res = await fetch(`${url}/sessions/${id}/events`, { headers, signal: controller.signal })
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  const waiters = []
  let buffer = ''
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, at)
          buffer = buffer.slice(at + 2)
          if (!block.includes('event: agent')) continue
          const data = JSON.parse(block.slice(block.indexOf('data: ') + 6))
          for (const w of [...waiters])
            if (w.match(data)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(performance.now())
        }
      }
    } catch {}
  })()
  return {
    until: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
    close: () => controller.abort(),
  }
}

const answer = { text: 'the answer, streamed in a few pieces', deltaChars: 8 }

const serveTimes = []
for (let i = 0; i < rounds + 2; i++) {
  model.push(answer)
  const { id } = await post('/sessions', {})
  const stream = await follow(id)
  const first = stream.until((e) => e.type === 'text-delta')
  const done = stream.until((e) => e.type === 'result')
  const t0 = performance.now()
  await post(`/sessions/${id}/prompt`, { text: 'hello' })
  const t1 = await first
  await done
  stream.close()
  if (i >= 2) serveTimes.push(t1 - t0)
}

// ---- in process ----------------------------------------------------------------------------
const agent = await createAgent({ config, cwd: project, tauHome, logLevel: 'error' })
const inProcess = []
for (let i = 0; i < rounds + 2; i++) {
  model.push(answer)
  const session = agent.session()
  const t0 = performance.now()
  let t1
  for await (const event of session.run('hello'))
    if (event.type === 'text-delta' && t1 === undefined) t1 = performance.now()
  await session.close('done')
  if (i >= 2) inProcess.push(t1 - t0)
}
await agent.close()

// ---- 20 at once ----------------------------------------------------------------------------
const throughput = []
for (let r = 0; r < 3; r++) {
  for (let i = 0; i < SESSIONS; i++)
    model.push(
      {
        toolCalls: [
          { name: 'TodoWrite', input: { todos: [{ content: 'x', status: 'pending', activeForm: 'x' }] } },
        ],
      },
      answer,
    )
  const ids = await Promise.all(
    Array.from({ length: SESSIONS }, () =>
      post('/sessions', { permissionMode: 'acceptEdits' }).then((s) => s.id),
    ),
  )
  const streams = await Promise.all(ids.map((id) => follow(id)))
  const done = streams.map((s) => s.until((e) => e.type === 'result' && e.parentToolCallId === undefined))
  const t0 = performance.now()
  await Promise.all(ids.map((id) => post(`/sessions/${id}/prompt`, { text: 'plan it' })))
  const ends = await Promise.all(done)
  throughput.push(Math.max(...ends) - t0)
  for (const s of streams) s.close()
}

// ---- sessions with their own MCP server -----------------------------------------------------
const everything = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')
const ownCreate = []
const ownFirst = []
const ownRounds = Math.max(3, Math.min(rounds, 10))
for (let i = 0; i < ownRounds + 1; i++) {
  model.push(answer)
  const c0 = performance.now()
  const { id } = await post('/sessions', {
    mcpServers: { own: { command: process.execPath, args: [everything, 'stdio'] } },
  })
  const c1 = performance.now()
  const stream = await follow(id)
  const first = stream.until((e) => e.type === 'text-delta')
  const done = stream.until((e) => e.type === 'result')
  const t0 = performance.now()
  await post(`/sessions/${id}/prompt`, { text: 'hello' })
  const t1 = await first
  await done
  stream.close()
  // Deleting the session closes its server (the next round starts its own).
  await fetch(`${url}/sessions/${id}`, { method: 'DELETE', headers })
  if (i >= 1) {
    ownCreate.push(c1 - c0)
    ownFirst.push(t1 - t0)
  }
}

const loadAtEnd = loadavg()[0]
serve.kill('SIGTERM')
await new Promise((resolve) => serve.on('close', resolve))
await model.close()
rmSync(work, { recursive: true, force: true })

const wall = median(throughput)
console.log(
  `node ${process.version}, ${cpus().length} CPUs, load ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end`,
)
console.log(`time to first text-delta, median of ${rounds}:`)
console.log(`  A tau serve (HTTP POST -> SSE)   ${median(serveTimes).toFixed(1)} ms`)
console.log(`  B in-process (session.run)      ${median(inProcess).toFixed(1)} ms`)
console.log(`  A - B                           ${(median(serveTimes) - median(inProcess)).toFixed(1)} ms`)
console.log(`C ${SESSIONS} sessions at once, 2 model turns each, median of 3: ${wall.toFixed(0)} ms`)
console.log(
  `  ${((SESSIONS * 1000) / wall).toFixed(1)} sessions/s, ${((2 * SESSIONS * 1000) / wall).toFixed(1)} model turns/s`,
)
console.log(`D a session with its own MCP server (server-everything, stdio), median of ${ownRounds}:`)
console.log(`  POST /sessions answered          ${median(ownCreate).toFixed(1)} ms`)
console.log(`  POST prompt -> first text-delta  ${median(ownFirst).toFixed(1)} ms (includes its connect)`)
