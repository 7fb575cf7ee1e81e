/**
 * AskUserQuestion in an editor: `tau acp` (the compiled binary) driven by the Agent Client
 * Protocol SDK's real client (acp-editor.ts), the model a scripted server on loopback. Each
 * question is one permission dialog whose options are the question's; what the editor picks is
 * the answer the model's next request carries.
 */
import { describe, expect, it } from 'vitest'
import { fixture, initialize, messageText, startEditor, until, useEditors } from './acp-editor.js'
import { color, sentResults, shape, sizes } from './ask-user-question-fixture.js'

const project = useEditors()

describe('AskUserQuestion in an ACP editor', () => {
  it('asks one permission dialog per question; the picks reach the model, a skipped question stays unanswered', async () => {
    const { p, server } = await fixture(project, [
      { toolCalls: [{ id: 'q1', name: 'AskUserQuestion', input: { questions: [color, sizes, shape] } }] },
      { text: 'A blue button, size open, square.' },
    ])
    // The editor's user: Blue for the color, skips the sizes, Square for the shape.
    const picks: Record<string, string> = {
      [`Color: ${color.question}`]: '1',
      [`Sizes: ${sizes.question} (pick one; this editor cannot pick several)`]: 'skip',
      [`Shape: ${shape.question}`]: '1',
    }
    const editor = startEditor(p, { answer: (request) => picks[request.toolCall.title ?? ''] ?? 'none' })
    await initialize(editor)
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    const response = await editor.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'make a button' }],
    })
    expect(response.stopReason).toBe('end_turn')

    expect(editor.permissions.map((r) => r.toolCall.title)).toEqual(Object.keys(picks))
    const [first] = editor.permissions
    expect(first!.toolCall.toolCallId).toBe('q1')
    expect(first!.options.map((o) => [o.optionId, o.name])).toEqual([
      ['0', 'Red: Loud'],
      ['1', 'Blue: Calm'],
      ['skip', 'Skip this question'],
    ])
    await until(() => messageText(editor, 'agent_message_chunk').includes('square'), 'the answer', editor)
    expect(sentResults(server)).toEqual([
      `User has answered your questions: "${color.question}"="Blue", "${shape.question}"="Square". You can now continue with the user's answers in mind.`,
    ])
    await editor.close()
  })
})
