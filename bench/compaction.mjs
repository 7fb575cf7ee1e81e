// One compaction of a session at about 200k tokens, excluding the model call (target under
// 100 ms): the token estimate, planning and applying the clearing of old tool results, the cut,
// rendering the summary request, replacing the older messages with the summary, the new
// conversation and its estimate, and writing the compaction record. Run after
// `npx tsc -p tsconfig.build.json`:
//   node bench/compaction.mjs
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Conversation } from '../dist/kernel/index.js'
import {
  applyClearing,
  applySummary,
  estimateMessages,
  JsonlTranscriptStore,
  planClearing,
  renderForSummary,
  summaryCut,
  summaryMessage,
  summaryRequestText,
} from '../dist/plugins/session/index.js'

/** A coding session: prompts, tool calls reading files, results, answers. */
function session(targetTokens) {
  const messages = []
  let i = 0
  while (estimateMessages(messages) < targetTokens) {
    if (i % 10 === 0)
      messages.push({ role: 'user', content: `Step ${i}: look at src/file${i}.ts and fix it.` })
    messages.push({
      role: 'assistant',
      content: [
        { type: 'text', text: `Reading src/file${i}.ts.` },
        { type: 'tool-call', id: `c${i}`, name: 'Read', input: { file_path: `src/file${i}.ts` } },
      ],
    })
    messages.push({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: `c${i}`,
          toolName: 'Read',
          content: [{ type: 'text', text: `export const value${i} = ${i}\n`.repeat(150) }],
        },
      ],
    })
    if (i % 10 === 9) messages.push({ role: 'assistant', content: [{ type: 'text', text: `Fixed ${i}.` }] })
    i++
  }
  return messages
}

const messages = session(200_000)
const conversation = Conversation.of(messages)
const dir = await mkdtemp(join(tmpdir(), 'tau-bench-compaction-'))
const todos = [{ content: 'Fix the parser', status: 'in_progress' }]
try {
  const store = new JsonlTranscriptStore(dir, { fsync: false })
  await store.append('bench', [
    {
      type: 'meta',
      version: 1,
      id: 'bench',
      startedAt: new Date().toISOString(),
      cwd: dir,
      model: 'x:y',
      title: 'b',
    },
  ])
  const times = []
  let summarized = 0
  let cleared = 0
  let after = 0
  for (let run = 0; run < 7; run++) {
    const started = performance.now()
    const before = estimateMessages(conversation.messages)
    let current = conversation.messages.slice()
    const clearing = planClearing(current, 3)
    current = applyClearing(current, clearing)
    const cut = summaryCut(current, 3)
    // The model call would be made with this text; its answer is stood in for.
    const request = summaryRequestText(renderForSummary(current.slice(0, cut)), ['Focus on the parser.'])
    if (request.length === 0) throw new Error('no summary request')
    const summary = { from: 0, to: cut, message: summaryMessage('Goal: fix the parser. '.repeat(50), todos) }
    current = applySummary(current, summary)
    const compacted = Conversation.of(current)
    after = estimateMessages(compacted.messages)
    await store.append('bench', [
      {
        type: 'compaction',
        at: new Date().toISOString(),
        trigger: 'auto',
        reason: 'threshold',
        cleared: clearing,
        summary,
        tokensBefore: before,
        tokensAfter: after,
      },
    ])
    times.push(performance.now() - started)
    summarized = cut
    cleared = clearing.length
  }
  await store.close('bench')
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  console.log(
    `compaction of ${messages.length} messages (~${estimateMessages(messages).toLocaleString('en-US')} tokens): ` +
      `${cleared} results cleared, ${summarized} messages summarised, ~${after.toLocaleString('en-US')} tokens after; ` +
      `median ${median.toFixed(1)} ms, min ${times[0].toFixed(1)} ms (target 100 ms)`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
