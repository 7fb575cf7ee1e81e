/**
 * Two sessions at once on one loaded local model, through the real binary: `tau serve` on a
 * project whose model is the tiny scripted GGUF (tau's JSON tool format: its ChatML template has
 * no tool syntax). Both prompts are posted together, so the runs are in flight at once (the model
 * has a sequence for each; had it one, the second would wait its turn); each session calls Read
 * and answers after the result, neither seeing the other's conversation.
 */
import { writeFile } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { STACK_LINE, useProjects } from '../../e2e/run-tau.js'
import { startServe } from '../../e2e/serve-process.js'
import { typeOf } from '../serve/sse-client.js'
import { buildTinyGguf } from './tiny-gguf.js'

const project = useProjects()
const closers: Array<() => unknown> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

// Only Read stays offered to the scripted model (it picks the lowest-sorting name otherwise).
const HIDDEN = [
  'Bash',
  'BashOutput',
  'KillShell',
  'Edit',
  'Write',
  'MultiEdit',
  'NotebookEdit',
  'Glob',
  'Grep',
  'LS',
  'WebFetch',
  'WebSearch',
  'TodoWrite',
  'AskUserQuestion',
]
const MORE_HIDDEN = ['Task', 'ExitPlanMode', 'Skill', 'memory']

describe('tau serve with a local model', () => {
  it('two sessions prompted at once on the one loaded model each call their tool and answer', async () => {
    const p = await project({
      'tau.config.json': JSON.stringify({
        model: 'local:./tiny.gguf',
        providers: { local: { gpu: false, threads: 1, sequences: 2 } },
      }),
      'notes.txt': 'hello from tau\n',
    })
    await writeFile(
      p.path('tiny.gguf'),
      buildTinyGguf({
        weights: 'scripted',
        value: 'notes.txt',
        answer: 'The notes say: hello from tau.',
        ctx: 32768,
        resultMarker: '<tool_result',
      }),
    )
    const serving = await startServe(p, closers)
    const ids: string[] = []
    for (let i = 0; i < 2; i++) {
      const created = await serving.call('POST', '/sessions', {
        disallowedTools: [...HIDDEN, ...MORE_HIDDEN],
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      ids.push(created.body.id as string)
    }
    const streams = await Promise.all(ids.map((id) => serving.stream(`/sessions/${id}/events`)))
    // Both prompts at once: the two runs share the process's one loaded model.
    const posted = await Promise.all(
      ids.map((id) => serving.call('POST', `/sessions/${id}/prompt`, { text: 'What do the notes say?' })),
    )
    for (const answer of posted) expect(answer.status).toBe(202)
    for (const stream of streams) {
      const result = await stream.waitFor(
        (e) => e.event === 'agent' && typeOf(e) === 'result',
        'the run ending',
        180_000,
      )
      expect(result.data).toMatchObject({ text: 'The notes say: hello from tau.', isError: false, turns: 2 })
      const read = stream.events.find((e) => e.event === 'agent' && typeOf(e) === 'tool-end')
      expect(read?.data).toMatchObject({ name: 'Read', result: { content: [{ type: 'text' }] } })
      const readResult = read?.data.result as { isError?: boolean } | undefined
      expect(JSON.stringify(readResult)).toContain('hello from tau')
      expect(readResult?.isError).not.toBe(true)
    }
    expect(serving.proc.output()).not.toMatch(STACK_LINE)
  }, 240_000)
})
