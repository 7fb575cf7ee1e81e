/**
 * What the kill-matrix files share: the tool whose effects are counted, the model that answers
 * each request from its own messages, the cuts of a reference log, and the checks of a recovered
 * run's log (kill-matrix.test.ts says what they require).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { expect } from 'vitest'
import { z } from 'zod'
import { addUsage, type Message, type Usage } from '../../../kernel/index.js'
import { INTERRUPTED_CALL_TEXT, UNSTARTED_CALL_TEXT } from '../../../plugins/agent/index.js'
import { runIdsOf } from '../../../plugins/durable-dbos/runner.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import type { WireRequest } from '../../../plugins/provider-scripted/wire/types.js'
import { replay, type TranscriptRecord, type TranscriptStore } from '../../../plugins/session/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { normalize, type WireFormat, type WireTurn, wireProblems } from './wire-rules.js'

/**
 * The `Append` tool: appends its line to `file` (each line names its run and its call), then calls
 * `after` (a test stops its worker there).
 */
export function effectsOf(file: string) {
  const hooks: { after?: (line: string) => void } = {}
  const tool = defineTool({
    name: 'Append',
    description: 'appends a line to the effects file',
    input: z.object({ line: z.string() }),
    async execute({ line }) {
      appendFileSync(file, `${line}\n`)
      hooks.after?.(line)
      return `appended ${line}`
    },
  })
  const lines = (): string[] =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
  return { tool, lines, hooks, add: (line: string) => appendFileSync(file, `${line}\n`) }
}

/**
 * The start of the answer a call gets when its run is aborted during it (plugins/agent/tool-calls.ts
 * keeps the text to itself): like an interrupted call, it may have had its effect.
 */
export const ABORTED_CALL_PREFIX = 'Aborted: the run was interrupted before this tool call finished'

/**
 * The model, answering each request from its own messages: to "append TAG" it calls Append with
 * the line `TAG call_N` (N: the conversation's calls so far, plus one); told a call did not run it
 * asks again; after a result (or an interrupted call, which may have had its effect) it says
 * "done". To anything else it answers "hi there" without tools. Each answer reports usage (input:
 * 100 + 10 a turn of the request; output: 7 for a call, 3 for text), so a run's counts can be
 * checked against its log.
 */
export function respond(format: WireFormat) {
  return (request: { body?: unknown }): ScriptTurn => {
    const turn = answer(format, request)
    const input = 100 + 10 * normalize(format, request.body).length
    return { ...turn, usage: { inputTokens: input, outputTokens: turn.toolCalls ? 7 : 3 } }
  }
}

function answer(format: WireFormat, request: { body?: unknown }): ScriptTurn {
  const turns = normalize(format, request.body)
  const prompt = [...turns].reverse().find((t): t is Extract<WireTurn, { role: 'user' }> => t.role === 'user')
  const tag = /^append (\S+)/.exec(prompt?.text ?? '')?.[1]
  if (!tag) return { text: 'hi there' }
  const last = turns.at(-1)
  if (last?.role === 'tool' && !last.results.some((r) => r.text.includes(UNSTARTED_CALL_TEXT)))
    return { text: 'done' }
  const made = turns.reduce((n, t) => n + (t.role === 'assistant' ? t.calls.length : 0), 0)
  const id = `call_${made + 1}`
  return { toolCalls: [{ id, name: 'Append', input: { line: `${tag} ${id}` } }] }
}

/** The records with every occurrence of each `from` id made its `to` (a copy under new ids). */
export function renamed(
  records: readonly TranscriptRecord[],
  ids: ReadonlyMap<string, string>,
): TranscriptRecord[] {
  let text = JSON.stringify(records)
  for (const [from, to] of ids) text = text.replaceAll(from, to)
  return JSON.parse(text) as TranscriptRecord[]
}

/**
 * The model calls a log holds for a durable run's agent runs (`mine`; undefined: every run of the
 * log) and their usage: what the run's result counts, wherever it was cut or handed back.
 */
export function modelCallsOf(
  records: readonly TranscriptRecord[],
  mine: ReadonlySet<string> | undefined,
): { turns: number; usage: Usage } {
  let usage: Usage = { inputTokens: 0, outputTokens: 0 }
  let turns = 0
  for (const r of records) {
    if (r.type !== 'usage' || r.runId === undefined || (mine !== undefined && !mine.has(r.runId))) continue
    turns++
    usage = addUsage(usage, r.usage)
  }
  return { turns, usage }
}

/** One cut of the reference log: how many records are kept, and whether the tool had run. */
export interface Cut {
  /** The intent's call (whose effect `ran` says). */
  readonly call: string
  readonly keep: number
  readonly ran: boolean
  readonly label: string
}

/** Every cut from `from` on: after each record, and both ways between the intent and the result. */
export function cutsOf(records: readonly TranscriptRecord[], from: number): Cut[] {
  const intent = records.findIndex((r, i) => i >= from && r.type === 'tool-intent')
  // A turn of one call logs its result with the tool message (several calls: a tool-result each).
  const result = records.findIndex(
    (r, i) => i > intent && (r.type === 'tool-result' || (r.type === 'message' && r.message.role === 'tool')),
  )
  expect(intent, 'the reference run logged a tool intent').toBeGreaterThan(0)
  expect(result, 'the result is logged after the intent').toBeGreaterThan(intent)
  const record = records[intent]
  const call = record?.type === 'tool-intent' ? record.toolCallId : ''
  const cuts: Cut[] = []
  for (let keep = from; keep <= records.length; keep++) {
    const last = keep === 0 ? 'nothing' : records[keep - 1]!.type
    const label = `after record ${keep} (${last})`
    if (keep > intent && keep <= result) {
      cuts.push({ call, keep, ran: false, label: `${label}, the tool not started` })
      cuts.push({ call, keep, ran: true, label: `${label}, the tool's effect done` })
    } else cuts.push({ call, keep, ran: keep > result, label })
  }
  // Every record boundary from `from` on, and the second way for each between intent and result.
  expect(cuts).toHaveLength(records.length - from + 1 + (result - intent))
  return cuts
}

/** The wire shape of a log's messages (what normalize() reads from a request). */
export function toWire(messages: readonly Message[]): WireTurn[] {
  const turns: WireTurn[] = []
  for (const m of messages) {
    const parts = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : m.content
    const text = parts.map((p) => (p.type === 'text' ? p.text : '')).join('')
    if (m.role === 'user') turns.push({ role: 'user', text })
    else if (m.role === 'assistant')
      turns.push({
        role: 'assistant',
        text,
        calls: parts.flatMap((p) =>
          p.type === 'tool-call'
            ? [{ id: p.id, name: p.name, input: p.input as Record<string, unknown> }]
            : [],
        ),
      })
    else if (m.role === 'tool')
      turns.push({
        role: 'tool',
        results: parts.flatMap((p) =>
          p.type === 'tool-result'
            ? [{ id: p.toolCallId, text: p.content.map((c) => (c.type === 'text' ? c.text : '')).join('') }]
            : [],
        ),
      })
  }
  return turns
}

export interface RecoveredLog {
  /** For messages: the wire and the cut. */
  readonly where: string
  readonly format: WireFormat
  readonly store: TranscriptStore
  readonly sessionId: string
  /** The durable run whose agent runs these are (a shared session); undefined: every run of the log. */
  readonly runId?: string
  readonly prompt: string
  /** The effects' prefix of this run's calls. */
  readonly tag: string
  /** The conversation of the session's earlier runs, kept as it was. */
  readonly earlier: readonly WireTurn[]
  /** The model requests the recovery sent. */
  readonly sent: readonly WireRequest[]
  /** The effects file's lines now, and before the recovery. */
  readonly effects: readonly string[]
  readonly ranBefore: ReadonlySet<string>
}

/** Checks a recovered run's log, its requests and its tool effects (see kill-matrix.test.ts). */
export async function checkRecoveredLog(c: RecoveredLog): Promise<void> {
  const { where } = c
  const { records } = await c.store.read(c.sessionId)
  const mine =
    c.runId === undefined
      ? new Set(records.flatMap((r) => (r.type === 'run-start' ? [r.runId] : [])))
      : runIdsOf(records, c.runId)
  // The log's last run record is this run's end, and nothing is left interrupted or unanswered.
  const last = records.filter((r) => r.type === 'run-start' || r.type === 'run-end').at(-1)
  expect(last?.type, `${where}: the log ends its run`).toBe('run-end')
  expect(last?.type === 'run-end' && mine.has(last.runId), `${where}: the run-end is this run's`).toBe(true)
  expect(last?.type === 'run-end' ? last.stopReason : undefined, where).toBe('end-turn')
  const state = replay(records, where)
  expect(state.interrupted, `${where}: an open run in the log`).toBeUndefined()
  expect(state.answers, `${where}: unanswered calls in the log`).toBeUndefined()
  // The conversation the log holds, as the provider would be sent it next.
  const conversation = toWire(state.messages)
  expect(conversation.slice(0, c.earlier.length), `${where}: the earlier runs' conversation`).toEqual(
    c.earlier,
  )
  const prompts = conversation.filter((t) => t.role === 'user' && t.text.startsWith(c.prompt))
  expect(prompts, `${where}: the prompt once`).toHaveLength(1)
  expect(conversation.at(-1), where).toEqual({ role: 'assistant', text: 'done', calls: [] })
  // Every request the recovery sent is one its provider takes.
  for (const request of c.sent.filter((r) => r.method === 'POST'))
    expect(wireProblems(c.format, request.body), where).toEqual([])
  // Each call: ran once (a result), not run (and it did not), or interrupted (and not run again).
  const effects = c.effects.filter((line) => line.startsWith(`${c.tag} `))
  expect(new Set(effects).size, `${where}: a call's effect twice`).toBe(effects.length)
  const calls = conversation.flatMap((t) => (t.role === 'assistant' ? t.calls : []))
  expect(new Set(calls.map((call) => call.id)).size, `${where}: a call id twice`).toBe(calls.length)
  const answers = new Map(
    conversation.flatMap((t) => (t.role === 'tool' ? t.results.map((r) => [r.id, r.text] as const) : [])),
  )
  for (const call of calls) {
    const line = `${c.tag} ${call.id}`
    const answer = answers.get(call.id)
    expect(answer, `${where}: ${call.id} answered`).toBeDefined()
    const count = effects.filter((e) => e === line).length
    if (answer?.includes(UNSTARTED_CALL_TEXT)) expect(count, `${where}: ${call.id} said not run`).toBe(0)
    else if (answer?.includes(INTERRUPTED_CALL_TEXT) || answer?.startsWith(ABORTED_CALL_PREFIX))
      expect(count, `${where}: ${call.id} interrupted`).toBe(c.ranBefore.has(line) ? 1 : 0)
    else expect(count, `${where}: ${call.id} ran`).toBe(1)
  }
  expect(
    effects.every((e) => calls.some((call) => `${c.tag} ${call.id}` === e)),
    where,
  ).toBe(true)
}
