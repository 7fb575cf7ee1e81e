/** The answer of a --permission-prompt-tool, read fail-closed: to a permission ask, and to AskUserQuestion. */
import { describe, expect, it } from 'vitest'
import { readAnswer, readQuestionsAnswer } from '../../../plugins/headless/permission-prompt.js'

const input = { command: 'echo hi' }
const reasonOf = (answer: ReturnType<typeof readAnswer>) =>
  typeof answer === 'object' ? `${answer.behavior}: ${answer.reason ?? ''}` : answer

describe('readAnswer', () => {
  it('allow, with the input unchanged or left out', () => {
    expect(readAnswer('{"behavior":"allow","updatedInput":{"command":"echo hi"}}', input, 't')).toBe('allow')
    expect(readAnswer('{"behavior":"allow"}', input, 't')).toBe('allow')
  })

  it("deny carries the tool's message", () => {
    expect(reasonOf(readAnswer('{"behavior":"deny","message":"not today"}', input, 't'))).toBe(
      'deny: not today',
    )
  })

  it('denies a changed input, text that is not JSON, and an answer that is neither', () => {
    expect(
      reasonOf(readAnswer('{"behavior":"allow","updatedInput":{"command":"rm -rf /"}}', input, 't')),
    ).toMatch(/^deny: .*changed the call's input/)
    expect(reasonOf(readAnswer('yes please', input, 't'))).toMatch(/^deny: .*not JSON/)
    expect(reasonOf(readAnswer('{"behavior":"maybe"}', input, 't'))).toMatch(
      /^deny: .*neither allow nor deny/,
    )
    expect(reasonOf(readAnswer('null', input, 't'))).toMatch(/^deny: /)
  })
})

describe('readQuestionsAnswer (AskUserQuestion, as canUseTool answers it)', () => {
  const questions = [
    { question: 'Which color?', header: 'Color', options: [], multiSelect: false },
    { question: 'Which sizes?', header: 'Sizes', options: [], multiSelect: true },
  ]
  const read = (answer: unknown) => readQuestionsAnswer(JSON.stringify(answer), questions, 't')

  it("allow: updatedInput.answers, keyed by the question's text; answers to questions not asked are dropped", () => {
    expect(
      read({
        behavior: 'allow',
        updatedInput: {
          questions,
          answers: { 'Which color?': 'Blue', 'Which sizes?': 'S, L', 'Which shape?': 'Round' },
        },
      }),
    ).toEqual({ answers: { 'Which color?': 'Blue', 'Which sizes?': 'S, L' } })
    // Allowed without answers: the user answered none.
    expect(read({ behavior: 'allow', updatedInput: { questions } })).toEqual({ answers: {} })
    expect(read({ behavior: 'allow' })).toEqual({ answers: {} })
  })

  it("deny declines with the tool's message; anything malformed declines, saying why", () => {
    expect(read({ behavior: 'deny', message: 'not now' })).toEqual({ declined: true, reason: 'not now' })
    expect(readQuestionsAnswer('sure', questions, 't')).toMatchObject({
      declined: true,
      reason: expect.stringContaining('not JSON'),
    })
    expect(read({ behavior: 'maybe' })).toMatchObject({
      reason: expect.stringContaining('neither allow nor deny'),
    })
    expect(read({ behavior: 'allow', updatedInput: { answers: ['Blue'] } })).toMatchObject({
      reason: expect.stringContaining('not an object'),
    })
    expect(read({ behavior: 'allow', updatedInput: { answers: { 'Which color?': 3 } } })).toMatchObject({
      reason: expect.stringContaining('"Which color?" with a number'),
    })
  })
})
