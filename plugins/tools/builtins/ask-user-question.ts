/**
 * AskUserQuestion (Claude Code's name and schema): the model asks the user one to four
 * multiple-choice questions and waits for the answers. The questions go through the session's
 * UserInteraction (`ctx.askQuestions`: the terminal's question, serve's pending question, an
 * editor's dialog), so every frontend answers them the same way. With nobody to ask (`tau start
 * -p`), the result is an error saying so, as Claude Code's headless mode refuses the call.
 */
import { z } from 'zod'
import { defineTool } from '../registry.js'
import type { Tool, ToolOutput } from '../tool.js'
import type { UserQuestion, UserQuestionsAnswer } from '../user-questions.js'
import { builtJsonSchema } from './defaults.js'

const DESCRIPTION = `Asks the user multiple-choice questions while you work, and waits for the answers. Use it when a decision is the user's to make and you cannot find the answer yourself: which approach they prefer, unclear requirements, a choice between options with real trade-offs.

- 1 to 4 questions per call; each has 2 to 4 options with a short label and a description of what choosing it means.
- The user can always type an answer of their own instead of an option, so do not add an "Other" option.
- multiSelect: true lets the user pick several options (for choices that are not exclusive).
- To recommend an option, put it first and end its label with "(Recommended)".
- header is a very short tag for the question (at most 12 characters), e.g. "Database".
- Do not use it to ask whether a plan is ready (use ExitPlanMode in plan mode) or for questions you could answer by reading the code.`

const option = z.object({
  label: z.string().min(1).describe('What the user sees and picks: 1-5 words'),
  description: z.string().describe('What choosing this option means, or its trade-offs'),
})

const question = z.object({
  question: z.string().min(1).describe('The whole question, clear and specific, ending with a question mark'),
  header: z
    .string()
    .describe('A very short label for the question, at most 12 characters (e.g. "Auth method")'),
  options: z
    .array(option)
    .min(2)
    .max(4)
    .describe('2 to 4 distinct choices; an answer of the user\'s own is always possible, so no "Other"'),
  multiSelect: z.boolean().default(false).describe('True when the user may pick more than one option'),
})

const input = z
  .object({
    questions: z.array(question).min(1).max(4).describe('The questions to ask: 1 to 4'),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>()
    value.questions.forEach((q, i) => {
      if (seen.has(q.question))
        ctx.addIssue({
          code: 'custom',
          path: ['questions', i, 'question'],
          message: 'each question must be unique',
        })
      seen.add(q.question)
      const labels = new Set<string>()
      q.options.forEach((o, j) => {
        if (labels.has(o.label))
          ctx.addIssue({
            code: 'custom',
            path: ['questions', i, 'options', j, 'label'],
            message: "a question's option labels must be unique",
          })
        labels.add(o.label)
      })
    })
  })

export type AskUserQuestionInput = z.infer<typeof input>

/** What the frontend gets in `tool-end.display`. */
export interface QuestionsDisplay {
  readonly type: 'questions'
  readonly questions: readonly UserQuestion[]
  readonly answer: UserQuestionsAnswer
}

/** The text the model reads for an answer. */
export function answersText(questions: readonly UserQuestion[], answer: UserQuestionsAnswer): string {
  if ('declined' in answer) return ''
  const pairs = questions
    .filter((q) => answer.answers[q.question] !== undefined)
    .map((q) => `"${q.question}"="${answer.answers[q.question]}"`)
  if (pairs.length === 0)
    return 'The user answered none of your questions. Continue with your best judgement.'
  return `User has answered your questions: ${pairs.join(', ')}. You can now continue with the user's answers in mind.`
}

export const askUserQuestionTool: Tool<AskUserQuestionInput> = defineTool({
  name: 'AskUserQuestion',
  jsonSchema: builtJsonSchema('AskUserQuestion'),
  description: DESCRIPTION,
  input,
  // It changes nothing but the conversation: it runs in plan mode and needs no permission.
  annotations: { readOnly: true, destructive: false, idempotent: false, openWorld: false },
  async execute({ questions }, ctx): Promise<ToolOutput> {
    const answer: UserQuestionsAnswer = ctx.askQuestions
      ? await ctx.askQuestions(questions)
      : { declined: true, reason: 'it ran outside an agent session' }
    const display: QuestionsDisplay = { type: 'questions', questions, answer }
    if ('declined' in answer) {
      const why = answer.reason ? `: ${answer.reason}` : ''
      return {
        content: [
          {
            type: 'text',
            text: `The questions were not answered${why}. Nobody chose for you: decide yourself where the choice is safe and say what you assumed, or stop and ask in your reply.`,
          },
        ],
        isError: true,
        display,
      }
    }
    return {
      content: [{ type: 'text', text: answersText(questions, answer) }],
      // Claude Code's result (hooks' tool_response, -p's tool_use_result).
      structured: { questions, answers: answer.answers },
      display,
    }
  },
})
