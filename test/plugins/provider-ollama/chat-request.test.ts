/** toOllamaMessages: kernel messages in Ollama's /api/chat form, part by part. */
import { describe, expect, it } from 'vitest'
import type { Message } from '../../../kernel/index.js'
import { toOllamaMessages } from '../../../plugins/provider-ollama/chat-request.js'

describe('toOllamaMessages', () => {
  it('joins text and thinking, keeps tool calls in order, and maps results with their images and errors', () => {
    const messages: Message[] = [
      { role: 'system', content: 'You are tau.' },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'First ' },
          { type: 'reasoning', text: 'hidden', redacted: true },
          { type: 'reasoning', text: 'think.' },
          { type: 'text', text: 'Reading ' },
          { type: 'tool-call', id: 'c1', name: 'Read', input: { file_path: 'a.ts' } },
          { type: 'text', text: 'two files.' },
          { type: 'tool-call', id: 'c2', name: 'Read', input: '{"file_path": "b', inputError: 'cut off' },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'Read',
            content: [
              { type: 'text', text: 'line one' },
              { type: 'image', mediaType: 'image/png', data: 'data:image/png;base64,QUJD' },
              { type: 'text', text: 'line two' },
            ],
          },
          {
            type: 'tool-result',
            toolCallId: 'c2',
            toolName: 'Read',
            content: [{ type: 'text', text: 'Error: arguments cut off' }],
            isError: true,
          },
          {
            type: 'tool-result',
            toolCallId: 'c3',
            toolName: 'Read',
            content: [{ type: 'text', text: 'no such file' }],
            isError: true,
          },
          { type: 'tool-result', toolCallId: 'c4', toolName: 'Read', content: [] },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'Done.' }] },
    ]
    expect(toOllamaMessages(messages)).toEqual([
      { role: 'system', content: 'You are tau.' },
      {
        role: 'assistant',
        content: 'Reading two files.',
        thinking: 'First think.',
        tool_calls: [
          { id: 'c1', function: { name: 'Read', arguments: { file_path: 'a.ts' } } },
          { id: 'c2', function: { name: 'Read', arguments: {} } },
        ],
      },
      {
        role: 'tool',
        content: 'line one\nline two',
        images: ['QUJD'],
        tool_name: 'Read',
        tool_call_id: 'c1',
      },
      { role: 'tool', content: 'Error: arguments cut off', tool_name: 'Read', tool_call_id: 'c2' },
      { role: 'tool', content: 'Error: no such file', tool_name: 'Read', tool_call_id: 'c3' },
      { role: 'tool', content: '', tool_name: 'Read', tool_call_id: 'c4' },
      { role: 'assistant', content: 'Done.' },
    ])
    // Key order is the JSON sent: thinking and tool_calls after content, images before tool_name.
    const [, assistant, result] = toOllamaMessages(messages)
    expect(Object.keys(assistant!)).toEqual(['role', 'content', 'thinking', 'tool_calls'])
    expect(Object.keys(result!)).toEqual(['role', 'content', 'images', 'tool_name', 'tool_call_id'])
  })
})
