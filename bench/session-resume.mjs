// Resume of a 10,000-message transcript: read and check the JSONL file, replay it into a
// conversation (target under 300 ms). Run after `npx tsc -p tsconfig.build.json`:
//   node bench/session-resume.mjs
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Conversation } from '../dist/kernel/index.js'
import { JsonlTranscriptStore, replay } from '../dist/plugins/session/index.js'

const MESSAGES = 10_000
const dir = await mkdtemp(join(tmpdir(), 'tau-bench-session-'))
try {
  const store = new JsonlTranscriptStore(dir, { fsync: false })
  const at = new Date().toISOString()
  const records = [
    { type: 'meta', version: 1, id: 'bench', startedAt: at, cwd: dir, model: 'scripted:x', title: 'bench' },
    { type: 'system', text: 'You are tau. '.repeat(200) },
  ]
  for (let i = 0; i < MESSAGES; i++) {
    const kind = i % 4
    const message =
      kind === 0
        ? { role: 'user', content: `Step ${i}: please look at src/file${i}.ts and fix what is wrong there.` }
        : kind === 1
          ? {
              role: 'assistant',
              content: [
                { type: 'text', text: `Reading src/file${i}.ts.` },
                { type: 'tool-call', id: `c${i}`, name: 'Read', input: { file_path: `src/file${i}.ts` } },
              ],
            }
          : kind === 2
            ? {
                role: 'tool',
                content: [
                  {
                    type: 'tool-result',
                    toolCallId: `c${i - 1}`,
                    toolName: 'Read',
                    content: [{ type: 'text', text: 'export const x = 1\n'.repeat(40) }],
                  },
                ],
              }
            : { role: 'assistant', content: [{ type: 'text', text: `Fixed file ${i}. `.repeat(10) }] }
    records.push({ type: 'message', index: i, at, message })
    if (kind === 3)
      records.push({ type: 'usage', usage: { inputTokens: i * 10, outputTokens: 50 }, messages: i + 1 })
  }
  await store.append('bench', records)
  await store.close('bench')

  const times = []
  for (let run = 0; run < 7; run++) {
    const started = performance.now()
    const read = await store.read('bench')
    const state = replay(read.records, 'bench')
    const conversation = Conversation.of(state.messages)
    if (conversation.length !== MESSAGES) throw new Error(`replayed ${conversation.length} messages`)
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  console.log(
    `session resume, ${MESSAGES} messages: median ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)}); target < 300 ms: ${median < 300 ? 'ok' : 'MISSED'}`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
