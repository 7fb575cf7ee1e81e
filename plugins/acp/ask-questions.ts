/**
 * AskUserQuestion in an editor: ACP has no question form, so each question is a
 * `session/request_permission` whose options are the question's options (plus one to skip it).
 * ACP picks one option, so a multi-select question takes one pick here and says so in its title;
 * an answer of the user's own text is not possible through ACP.
 */
import type { AgentContext, PermissionOption } from '@agentclientprotocol/sdk'
import type { Logger } from '../../kernel/index.js'
import type { UserQuestionsAnswer, UserQuestionsRequest } from '../tools/index.js'

const SKIP = 'skip'

export async function askQuestionsInEditor(
  client: AgentContext,
  sessionId: string,
  request: UserQuestionsRequest,
  logger: Logger,
): Promise<UserQuestionsAnswer> {
  const answers: Record<string, string> = {}
  for (const [i, question] of request.questions.entries()) {
    const options: PermissionOption[] = [
      ...question.options.map(
        (o, j): PermissionOption => ({
          optionId: String(j),
          name: o.description === '' ? o.label : `${o.label}: ${o.description}`,
          kind: 'allow_once',
        }),
      ),
      { optionId: SKIP, name: 'Skip this question', kind: 'reject_once' },
    ]
    const header = question.header === '' ? '' : `${question.header}: `
    const several = question.multiSelect ? ' (pick one; this editor cannot pick several)' : ''
    let picked: string | undefined
    try {
      const response = await client.request(
        'session/request_permission',
        {
          sessionId,
          toolCall: {
            // One tool call, several questions: each asks about the same call, in turn.
            toolCallId: request.toolCallId,
            title: `${header}${question.question}${several}`,
            kind: 'other',
            status: 'pending',
            rawInput: { questions: request.questions, index: i },
          },
          options,
        },
        { cancellationSignal: request.signal, stopWaitingOnCancel: true },
      )
      picked = response.outcome.outcome === 'selected' ? response.outcome.optionId : undefined
    } catch (error) {
      if (request.signal.aborted) return { declined: true, reason: 'the run was interrupted' }
      logger.warn(`AskUserQuestion: session/request_permission failed: ${String(error)}`)
      return { declined: true, reason: 'the editor could not be asked' }
    }
    if (picked === undefined) return { declined: true, reason: 'the question was cancelled in the editor' }
    const option = picked === SKIP ? undefined : question.options[Number(picked)]
    if (option) answers[question.question] = option.label
  }
  return { answers }
}
