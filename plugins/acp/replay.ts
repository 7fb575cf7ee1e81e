/**
 * session/load: the whole conversation, replayed from the session's log as the updates the editor
 * would have seen — every message record in order (those a compaction summarised too, since the
 * log keeps them), each tool call with its result, and the task lists.
 */
import type { SessionUpdate } from '@agentclientprotocol/sdk'
import type { ToolCallPart } from '../../kernel/index.js'
import type { TranscriptRecord } from '../session/index.js'
import { finishedContent, toolKind, toolLocations, toolTitle } from './tool-calls.js'

export function replayUpdates(records: readonly TranscriptRecord[], cwd: string): SessionUpdate[] {
  const updates: SessionUpdate[] = []
  const calls = new Map<string, ToolCallPart>()
  const text = (
    kind: 'user_message_chunk' | 'agent_message_chunk' | 'agent_thought_chunk',
    value: string,
  ) => {
    if (value !== '') updates.push({ sessionUpdate: kind, content: { type: 'text', text: value } })
  }
  for (const record of records) {
    if (record.type === 'todos') {
      updates.push({
        sessionUpdate: 'plan',
        entries: record.todos.map((todo) => ({
          content: todo.content,
          priority: 'medium',
          status: todo.status,
        })),
      })
      continue
    }
    if (record.type !== 'message') continue
    const message = record.message
    if (message.role === 'user') {
      if (typeof message.content === 'string') text('user_message_chunk', message.content)
      else for (const part of message.content) if (part.type === 'text') text('user_message_chunk', part.text)
    } else if (message.role === 'assistant') {
      for (const part of message.content) {
        if (part.type === 'text') text('agent_message_chunk', part.text)
        else if (part.type === 'reasoning' && !part.redacted) text('agent_thought_chunk', part.text)
        else if (part.type === 'tool-call') {
          calls.set(part.id, part)
          updates.push({
            sessionUpdate: 'tool_call',
            toolCallId: part.id,
            title: toolTitle(part.name, part.input, cwd),
            kind: toolKind(part.name),
            status: 'pending',
            locations: toolLocations(part.name, part.input, cwd),
            rawInput: part.input,
          })
        }
      }
    } else if (message.role === 'tool') {
      for (const result of message.content) {
        const call = calls.get(result.toolCallId)
        updates.push({
          sessionUpdate: 'tool_call_update',
          toolCallId: result.toolCallId,
          status: result.isError ? 'failed' : 'completed',
          content: finishedContent(result.toolName, call?.input, result, cwd),
        })
      }
    }
  }
  return updates
}
