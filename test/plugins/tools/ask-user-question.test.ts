/**
 * AskUserQuestion through the real agent loop: the questions reach the session's
 * UserInteraction (`askQuestions`), the answers come back to the model in Claude Code's words,
 * a frontend without `askQuestions` (headless) makes the call an error saying nobody could
 * answer, and the schema holds Claude Code's limits (1-4 questions, 2-4 options, unique).
 */
import { describe, expect, it } from 'vitest'
import type { UserInteraction } from '../../../plugins/agent/index.js'
import { QuestionBoard } from '../../../plugins/session-controller/question-board.js'
import { askUserQuestionTool, type Tool, type UserQuestionsRequest } from '../../../plugins/tools/index.js'
import { color, sizes } from '../../e2e/ask-user-question-fixture.js'
import { allowAll, harness, ofType, toolText } from '../agent/helpers.js'

const tools = [askUserQuestionTool as unknown as Tool]

async function ask(interaction: UserInteraction | undefined, questions: unknown[]) {
  const h = await harness({
    tools,
    decide: allowAll,
    turns: [{ toolCalls: [{ id: 'q1', name: 'AskUserQuestion', input: { questions } }] }, { text: 'ok' }],
  })
  const session = h.session(interaction ? { interaction } : {})
  const events = await h.run(session, 'ask me')
  return { events, h }
}

describe('AskUserQuestion', () => {
  it("puts the questions to the session's interaction and gives the model the answers in Claude Code's words", async () => {
    const asked: UserQuestionsRequest[] = []
    const { events, h } = await ask(
      {
        askQuestions: async (request) => {
          asked.push(request)
          return { answers: { [color.question]: 'Blue', [sizes.question]: 'Small, Large' } }
        },
      },
      [color, sizes],
    )
    expect(asked).toHaveLength(1)
    expect(asked[0]!.toolCallId).toBe('q1')
    expect(asked[0]!.questions).toEqual([color, sizes])
    expect(toolText(events, 'q1')).toBe(
      `User has answered your questions: "${color.question}"="Blue", "${sizes.question}"="Small, Large". You can now continue with the user's answers in mind.`,
    )
    const end = ofType(events, 'tool-end')[0]!
    expect(end.result.isError).toBeUndefined()
    expect(end.result.structured).toEqual({
      questions: [color, sizes],
      answers: { [color.question]: 'Blue', [sizes.question]: 'Small, Large' },
    })
    expect(end.display).toMatchObject({ type: 'questions' })
    // The model's next request carries the answer.
    expect(JSON.stringify(h.scripted.requests.at(-1)!.messages)).toContain('Small, Large')
  })

  it('without askQuestions (headless) the call is an error saying nobody could answer', async () => {
    const { events } = await ask({ askPermission: async () => 'allow' }, [color])
    const end = ofType(events, 'tool-end')[0]!
    expect(end.result.isError).toBe(true)
    expect(toolText(events, 'q1')).toBe(
      'The questions were not answered: there is no user to ask (headless). Nobody chose for you: decide yourself where the choice is safe and say what you assumed, or stop and ask in your reply.',
    )
  })

  it('a user who declines gives an error result with the reason', async () => {
    const { events } = await ask(
      { askQuestions: async () => ({ declined: true, reason: 'the user interrupted instead of answering' }) },
      [color],
    )
    expect(toolText(events, 'q1')).toContain(
      'The questions were not answered: the user interrupted instead of answering.',
    )
  })

  it('an aborted run withdraws the question from the board and the tool reports the interruption', async () => {
    const board = new QuestionBoard(() => {})
    const interaction = board.interaction()
    const controller = new AbortController()
    const answer = interaction.askQuestions!({
      sessionId: 's',
      toolCallId: 'q1',
      questions: [color],
      signal: controller.signal,
    })
    expect(board.pending()).toMatchObject([{ kind: 'questions', request: { questions: [color] } }])
    controller.abort()
    expect(await answer).toEqual({ declined: true, reason: 'the run was interrupted' })
    expect(board.pending()).toEqual([])
  })

  it.each([
    ['no questions', [], 'questions'],
    ['five questions', [1, 2, 3, 4, 5].map((n) => ({ ...color, question: `Q${n}?` })), 'questions'],
    ['one option', [{ ...color, options: [color.options[0]] }], 'questions.0.options'],
    [
      'five options',
      [{ ...color, options: [1, 2, 3, 4, 5].map((n) => ({ label: `o${n}`, description: '' })) }],
      'questions.0.options',
    ],
    ['the same question twice', [color, color], 'questions.1.question'],
    [
      'the same label twice',
      [{ ...color, options: [color.options[0], color.options[0]] }],
      'questions.0.options.1.label',
    ],
  ])('refuses %s', async (_what, questions, path) => {
    const checked = await askUserQuestionTool.input['~standard'].validate({ questions })
    expect(checked.issues).toBeDefined()
    const paths = (checked.issues ?? []).map((issue) =>
      (issue.path ?? []).map((s) => (typeof s === 'object' ? s.key : s)).join('.'),
    )
    expect(paths).toContain(path)
  })

  it('multiSelect defaults to false and the JSON Schema has no top-level oneOf', async () => {
    const { multiSelect: _m, ...plain } = color
    const checked = await askUserQuestionTool.input['~standard'].validate({ questions: [plain] })
    expect(checked.issues).toBeUndefined()
    expect(
      (checked as { value: { questions: Array<{ multiSelect: boolean }> } }).value.questions[0]!.multiSelect,
    ).toBe(false)
    expect(askUserQuestionTool.inputSchema).not.toHaveProperty('oneOf')
    expect(askUserQuestionTool.inputSchema).toMatchObject({ type: 'object', required: ['questions'] })
  })
})
