/**
 * The crash suite: the real binary on the coding preset, a scripted model on loopback in
 * OpenAI's wire format, and `kill -9` of tau at the worst moments — during a Bash call, during a
 * streamed answer, during a parallel fan-out of subagents (Task). Then `tau start -p --continue`
 * without a prompt: the next request the model gets carries a result for every tool call (an
 * OpenAI or Anthropic server refuses one that does not, with a 400), no user message was
 * invented, nothing ran twice, and no tool process outlived tau. Every wait polls for a
 * condition (a marker file a tool writes, a request the server received, a process in /proc);
 * nothing sleeps a fixed time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { INTERRUPTED_CALL_TEXT, UNSTARTED_CALL_TEXT } from '../../plugins/agent/index.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { projectKey } from '../../plugins/session/index.js'
import { HANG_LIMIT_MS, type Project, type TauProcess, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

interface Crashed {
  p: Project
  server: ScriptedServer
  spawn(args: readonly string[]): TauProcess
}

async function crashProject(script: ScriptTurn[], durability = 'turn'): Promise<Crashed> {
  const p = await project()
  const server = await startScriptedServer({ format: 'openai', script })
  servers.push(server)
  await p.write({
    // JSON, not tau.config.ts: the config's form is not under test (jiti costs ~0.45 s of CPU).
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'openai:scripted-model',
      providers: { openai: { baseURL: `${server.url}/v1` } },
      session: { durability },
    }),
  })
  const env = { OPENAI_API_KEY: 'sk-test' }
  return { p, server, spawn: (args) => p.spawn(args, { env }) }
}

/** Polls until `check` holds; fails with `what` and tau's output when the deadline passes. */
async function until(check: () => boolean, what: string, proc: TauProcess, timeoutMs = HANG_LIMIT_MS) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (proc.exited) throw new Error(`tau exited before ${what}\n${proc.output()}`)
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${proc.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function kill9(proc: TauProcess): Promise<void> {
  proc.child.kill('SIGKILL')
  const result = await proc.result
  expect(result.signal).toBe('SIGKILL')
}

type WireMessage = {
  role: string
  content?: unknown
  tool_calls?: Array<{ id: string; function: { name: string } }>
  tool_call_id?: string
}

const messagesOf = (server: ScriptedServer, index: number) =>
  (server.requests[index]!.body as { messages: WireMessage[] }).messages

/** Every assistant tool call of a request is answered by a tool message right after it. */
function expectEveryCallAnswered(messages: readonly WireMessage[]) {
  for (const [i, message] of messages.entries()) {
    for (const call of message.tool_calls ?? []) {
      const answers = messages.slice(i + 1).filter((m) => m.role === 'tool' && m.tool_call_id === call.id)
      expect(answers, `tool call ${call.id} (${call.function.name}) has exactly one result`).toHaveLength(1)
    }
  }
}

/**
 * The processes on this machine running `sleep <seconds>`, found by their command line in /proc
 * (a unique fractional duration marks one test's tool process, whatever pid namespace the
 * sandbox gave it).
 */
function sleepers(seconds: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (argv[0]?.endsWith('sleep') && argv[1] === seconds) found.push(Number(entry))
    } catch {
      // Gone while we looked.
    }
  }
  return found
}

/** No tool process outlives tau: polls until none of `seconds`'s sleepers is left. */
async function expectNoSurvivor(seconds: string): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (sleepers(seconds).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  expect(sleepers(seconds), `a 'sleep ${seconds}' outlived tau`).toEqual([])
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [])

function transcript(p: Project): Array<Record<string, unknown> & { type: string }> {
  const dir = join(p.tauHome, 'projects', projectKey(p.dir))
  const files = readdirSync(dir).filter((name) => name.endsWith('.jsonl'))
  // The parent's log: the one whose meta is not a subagent's.
  for (const file of files) {
    const records = readFileSync(join(dir, file), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string })
    if (records[0]?.subagentOf === undefined) return records
  }
  throw new Error(`no parent transcript in ${dir}`)
}

describe('kill -9, then tau start -p --continue', () => {
  it.each(['turn', 'record', 'off'])(
    'during a Bash call (durability %s): a second process is refused while tau runs; the call is answered as interrupted, never run again; no user message is invented',
    async (durability) => {
      const marker = 'ran.txt'
      const seconds = { turn: '30.101', record: '30.102', off: '30.103' }[durability]!
      const c = await crashProject(
        [
          {
            toolCalls: [
              {
                id: 'call_bash',
                name: 'Bash',
                input: { command: `echo run >> ${marker}; sleep ${seconds}` },
              },
            ],
          },
          { text: 'Recovered.' },
        ],
        durability,
      )
      const first = c.spawn(['start', '-p', 'Run the slow command', '--allowed-tools', 'Bash'])
      await until(() => lines(c.p.path(marker)).length === 1, 'the Bash call started', first)
      // One writer at a time: the session is tau's while it runs.
      const refused = await c.spawn(['start', '-p', '--continue']).result
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain(`in use by process ${first.child.pid} on `)
      await until(() => sleepers(seconds).length > 0, "the Bash call's sleep is seen in /proc", first)
      await kill9(first)
      // The tool's process died with tau (PR_SET_PDEATHSIG locally, --die-with-parent under bwrap).
      await expectNoSurvivor(seconds)

      const second = c.spawn(['start', '-p', '--continue', '--allowed-tools', 'Bash'])
      const result = await second.result
      expect(result.code, second.output()).toBe(0)
      expect(result.stdout.trim()).toBe('Recovered.')
      expect(c.server.requests).toHaveLength(2)
      const messages = messagesOf(c.server, 1)
      expectEveryCallAnswered(messages)
      expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool'])
      // (OpenAI's wire marks an error result with `Error: `.)
      expect(messages.at(-1)).toMatchObject({
        tool_call_id: 'call_bash',
        content: `Error: ${INTERRUPTED_CALL_TEXT}`,
      })
      // Not run again.
      expect(lines(c.p.path(marker))).toEqual(['run'])
      // The log tells the story: the intent before the kill, the continuation after it.
      const records = transcript(c.p)
      const types = records.map((r) => r.type)
      expect(types.indexOf('tool-intent')).toBeGreaterThan(types.indexOf('run-start'))
      const runs = records.filter((r) => r.type === 'run-start')
      expect(runs).toHaveLength(2)
      expect(runs[1]).toMatchObject({ resumes: runs[0]!.runId })
      expect(runs[1]!.prompt).toBeUndefined()
      expect(records.filter((r) => r.type === 'run-end')).toEqual([
        expect.objectContaining({ runId: runs[1]!.runId, stopReason: 'end-turn', turns: 2 }),
      ])
    },
  )

  it('during a streamed answer: the cut answer leaves nothing behind, and the request goes again as it was', async () => {
    const c = await crashProject([
      // Slow: one character every 200 ms, so tau is killed while the answer streams.
      { text: 'A long answer that never finishes.', deltaChars: 1, chunkDelayMs: 200 },
      { text: 'The whole answer.' },
    ])
    const first = c.spawn(['start', '-p', 'Explain it'])
    await until(() => c.server.requests.length === 1, 'the model call went out', first)
    await kill9(first)

    const second = c.spawn(['start', '-p', '--continue'])
    const result = await second.result
    expect(result.code, second.output()).toBe(0)
    expect(result.stdout.trim()).toBe('The whole answer.')
    expect(c.server.requests).toHaveLength(2)
    // The same conversation as the first request: no partial answer, no invented user message.
    expect(messagesOf(c.server, 1)).toEqual(messagesOf(c.server, 0))
  })

  it('during a parallel fan-out of subagents: every Task call gets a result, no subagent tool runs twice', async () => {
    const marker = 'fan.txt'
    const seconds = '30.104'
    const slow = { name: 'Bash', input: { command: `echo child >> ${marker}; sleep ${seconds}` } }
    const c = await crashProject([
      {
        toolCalls: [
          {
            id: 'task_a',
            name: 'Task',
            input: { description: 'First part', prompt: 'Do part one', subagent_type: 'general-purpose' },
          },
          {
            id: 'task_b',
            name: 'Task',
            input: { description: 'Second part', prompt: 'Do part two', subagent_type: 'general-purpose' },
          },
        ],
      },
      // Each subagent's first call: a slow Bash command.
      { toolCalls: [{ id: 'child_1', ...slow }] },
      { toolCalls: [{ id: 'child_2', ...slow }] },
      { text: 'Both parts were interrupted; starting over is safe.' },
    ])
    const first = c.spawn(['start', '-p', 'Do both parts', '--allowed-tools', 'Bash'])
    await until(() => lines(c.p.path(marker)).length === 2, 'both subagents are in their Bash call', first)
    await until(() => sleepers(seconds).length === 2, "both subagents' sleeps are seen in /proc", first)
    await kill9(first)
    await expectNoSurvivor(seconds)
    const before = c.server.requests.length

    const second = c.spawn(['start', '-p', '--continue', '--allowed-tools', 'Bash'])
    const result = await second.result
    expect(result.code, second.output()).toBe(0)
    expect(c.server.requests).toHaveLength(before + 1)
    const messages = messagesOf(c.server, before)
    expectEveryCallAnswered(messages)
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool'])
    for (const id of ['task_a', 'task_b']) {
      const answer = messages.find((m) => m.tool_call_id === id)
      expect([INTERRUPTED_CALL_TEXT, UNSTARTED_CALL_TEXT].map((text) => `Error: ${text}`)).toContain(
        answer?.content,
      )
    }
    expect(lines(c.p.path(marker))).toEqual(['child', 'child'])
  })
})
