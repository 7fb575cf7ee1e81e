/**
 * The provider rules the kill matrix checks requests against (wire-rules.ts) refuse what the
 * providers refuse: a call without its result, a result without its call, a user turn between a
 * call and its result, two user turns in a row on Anthropic, an empty text block. And they take a
 * valid conversation with a tool call.
 */
import { describe, expect, it } from 'vitest'
import { normalize, wireProblems } from './wire-rules.js'

const call = { id: 'call_1', type: 'function', function: { name: 'Append', arguments: '{"line":"x"}' } }

describe('OpenAI chat completions rules', () => {
  it('take a call answered by its tool message', () => {
    const body = {
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'append x' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: 'appended x' },
      ],
    }
    expect(wireProblems('openai', body)).toEqual([])
    expect(normalize('openai', body)).toEqual([
      { role: 'user', text: 'append x' },
      { role: 'assistant', text: '', calls: [{ id: 'call_1', name: 'Append', input: { line: 'x' } }] },
      { role: 'tool', results: [{ id: 'call_1', text: 'appended x' }] },
    ])
  })

  it('refuse a call without its result, a result without its call, and a user turn between', () => {
    const unanswered = {
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', tool_calls: [call] },
      ],
    }
    expect(wireProblems('openai', unanswered)).toEqual(['the request ends with calls call_1 unanswered'])
    const orphan = {
      messages: [
        { role: 'user', content: 'a' },
        { role: 'tool', tool_call_id: 'call_9', content: 'r' },
      ],
    }
    expect(wireProblems('openai', orphan)).toEqual([
      'message 1: a tool message for call_9, which no open call has',
    ])
    const between = {
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', tool_calls: [call] },
        { role: 'user', content: 'b' },
        { role: 'tool', tool_call_id: 'call_1', content: 'r' },
      ],
    }
    expect(wireProblems('openai', between)).toHaveLength(2)
  })
})

describe('Anthropic messages rules', () => {
  const use = { type: 'tool_use', id: 'toolu_1', name: 'Append', input: { line: 'x' } }
  const result = { type: 'tool_result', tool_use_id: 'toolu_1', content: 'appended x' }

  it('take a tool_use answered first thing in the next user turn', () => {
    const body = {
      messages: [
        { role: 'user', content: 'append x' },
        { role: 'assistant', content: [use] },
        { role: 'user', content: [result, { type: 'text', text: 'and more' }] },
      ],
    }
    expect(wireProblems('anthropic', body)).toEqual([])
    expect(normalize('anthropic', body)).toEqual([
      { role: 'user', text: 'append x' },
      { role: 'assistant', text: '', calls: [{ id: 'toolu_1', name: 'Append', input: { line: 'x' } }] },
      { role: 'tool', results: [{ id: 'toolu_1', text: 'appended x' }] },
      { role: 'user', text: 'and more' },
    ])
  })

  it('refuse two user turns in a row, an unanswered tool_use, a stray result, an empty text block', () => {
    expect(
      wireProblems('anthropic', {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      }),
    ).toContain('message 1: user where the assistant turn is due')
    expect(
      wireProblems('anthropic', {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: [use] },
          { role: 'user', content: 'b' },
        ],
      }),
    ).toEqual(['message 2: tool_use toolu_1 has no tool_result here'])
    expect(wireProblems('anthropic', { messages: [{ role: 'user', content: [result] }] })).toEqual([
      'message 0: tool_result toolu_1 answers no tool_use before it',
    ])
    expect(
      wireProblems('anthropic', { messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }),
    ).toEqual(['message 0: an empty text block'])
  })
})
