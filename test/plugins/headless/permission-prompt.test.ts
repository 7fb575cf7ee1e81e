/** The answer of a --permission-prompt-tool, read fail-closed. */
import { describe, expect, it } from 'vitest'
import { readAnswer } from '../../../plugins/headless/permission-prompt.js'

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
