/**
 * What bench/loop-floor.mjs and bench/loop-phases.mjs share: a project whose model (the scripted
 * server, in one wire format) calls Read on every turn and then answers, the environment tau runs
 * in there, the tau command line, the first request tau sends (recorded for the floor, so that it
 * sends what tau sends), and the median. Imported by their measuring side only: the floor process
 * (loop-floor.mjs --floor) loads none of it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** `tau start -p` of the benches, after `tau` (the launcher's path). */
export const START_ARGS = [
  'start',
  '-p',
  'Read the notes',
  '--output-format',
  'json',
  '--permission-mode',
  'bypassPermissions',
]

/**
 * A fresh temporary TAU_HOME and project (`prefix` names the directory) with a 40-line notes file,
 * the scripted model server on `wire`, a config that points tau at it, the environment to run tau
 * in, and `script(n)`: the model's n Read turns and its answer.
 */
export async function readTurnsProject(startScriptedServer, wire, prefix) {
  const base = mkdtempSync(join(tmpdir(), prefix))
  const tauHome = join(base, 'home')
  const project = join(base, 'project')
  mkdirSync(tauHome)
  mkdirSync(project)
  const target = join(project, 'notes.txt')
  writeFileSync(target, Array.from({ length: 40 }, (_, i) => `line ${i + 1} of the notes`).join('\n'))
  const server = await startScriptedServer({ format: wire, script: [] })
  const providers = {
    openai: { openai: { baseURL: `${server.url}/v1` } },
    anthropic: { anthropic: { baseURL: server.url } },
    ollama: { ollama: { host: server.url } },
  }[wire]
  writeFileSync(
    join(project, 'tau.config.json'),
    `${JSON.stringify({ preset: 'coding', model: `${wire}:scripted-model`, providers, agent: { maxTurns: 10_000 } }, null, 2)}\n`,
  )
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TAU_HOME: tauHome,
    HOME: base,
    OPENAI_API_KEY: 'sk-bench',
    ANTHROPIC_API_KEY: 'sk-ant-bench',
  }
  const script = (n) => [
    ...Array.from({ length: n }, (_, i) => ({
      toolCalls: [{ name: 'Read', input: { file_path: target } }],
      usage: { inputTokens: 100 + i, outputTokens: 20 },
    })),
    { text: 'Read it all.', usage: { inputTokens: 100 + n, outputTokens: 5 } },
  ]
  return { base, tauHome, project, target, server, env, script }
}

/**
 * Writes to `file` the first model request tau sent since the server's request `before` (its
 * origin, wire, path, headers and body): what the floor replays (loop-floor.mjs --floor FILE).
 */
export function recordFirstRequest(server, before, wire, file) {
  const sent = server.requests
    .slice(before)
    .find((r) => r.method === 'POST' && r.rawBody.includes('"messages"'))
  writeFileSync(
    file,
    JSON.stringify({
      origin: server.url,
      wire,
      path: sent.path,
      headers: Object.fromEntries(
        Object.entries(sent.headers).filter(
          ([name]) => !['host', 'content-length', 'connection'].includes(name),
        ),
      ),
      body: sent.rawBody,
    }),
  )
}
