/**
 * `tau acp` driven by the Agent Client Protocol SDK's real client side (acp-editor.ts): the
 * compiled binary, a scripted model on loopback, real files and terminals.
 */
import { readFileSync } from 'node:fs'
import * as acp from '@agentclientprotocol/sdk'
import { describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import {
  initialize,
  lastRequestText,
  messageText,
  fixture as projectFixture,
  startEditor,
  until,
  updatesOf,
  useEditors,
} from './acp-editor.js'

const project = useEditors()
const fixture = (turns: readonly ScriptTurn[]) => projectFixture(project, turns)

describe('tau acp', () => {
  it('initializes with what works, runs a prompt with a plan, and keeps stdout for the protocol', async () => {
    const { p } = await fixture([
      {
        toolCalls: [
          {
            id: 'todo-1',
            name: 'TodoWrite',
            input: { todos: [{ content: 'Write the tests', status: 'in_progress', activeForm: 'Writing' }] },
          },
        ],
      },
      { reasoning: 'all planned', text: 'Hello from tau.' },
    ])
    const editor = startEditor(p)
    const init = await initialize(editor)
    expect(init.protocolVersion).toBe(acp.PROTOCOL_VERSION)
    expect(init.agentCapabilities).toMatchObject({
      loadSession: true,
      promptCapabilities: { image: false, audio: false, embeddedContext: true },
      mcpCapabilities: { http: true, sse: true },
    })
    expect(init.agentInfo?.name).toBe('tau')
    const created = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    expect(created.modes?.currentModeId).toBe('default')
    expect(created.modes?.availableModes.map((m) => m.id)).toEqual(['default', 'acceptEdits', 'plan'])
    const response = await editor.agent.request('session/prompt', {
      sessionId: created.sessionId,
      prompt: [{ type: 'text', text: 'plan it' }],
    })
    expect(response.stopReason).toBe('end_turn')
    expect(messageText(editor, 'agent_message_chunk')).toBe('Hello from tau.')
    expect(updatesOf(editor, 'agent_thought_chunk').length).toBeGreaterThan(0)
    expect(updatesOf(editor, 'plan').at(-1)?.entries).toEqual([
      { content: 'Write the tests', priority: 'medium', status: 'in_progress' },
    ])
    const todo = updatesOf(editor, 'tool_call').find((u) => u.toolCallId === 'todo-1')
    expect(todo).toMatchObject({ kind: 'think', status: 'pending' })
    await until(() => updatesOf(editor, 'available_commands_update').length > 0, 'the commands', editor)
    const names = updatesOf(editor, 'available_commands_update')[0]!.availableCommands.map((c) => c.name)
    expect(names).toEqual(expect.arrayContaining(['compact', 'mode', 'clear']))
    expect(names).not.toContain('exit')
    expect(await editor.close()).toBe(0)
    // Nothing but JSON-RPC on stdout: logs and notices went to stderr.
    expect(editor.stdoutLines.length).toBeGreaterThan(0)
    for (const line of editor.stdoutLines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' })
  })

  it('shows a tool call pending, in progress and completed, after the editor allowed it', async () => {
    const { p } = await fixture([
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'notes.txt', content: 'hello\n' } }] },
      { text: 'written' },
    ])
    const editor = startEditor(p, { answer: () => 'allow' })
    await initialize(editor)
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    const response = await editor.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'write notes' }],
    })
    expect(response.stopReason).toBe('end_turn')
    expect(editor.permissions).toHaveLength(1)
    const asked = editor.permissions[0]!
    expect(asked.toolCall).toMatchObject({ toolCallId: 'w1', kind: 'edit' })
    expect(asked.toolCall.content).toEqual([
      { type: 'diff', path: p.path('notes.txt'), oldText: null, newText: 'hello\n' },
    ])
    expect(asked.options.map((o) => o.kind)).toEqual([
      'allow_once',
      'allow_always',
      'reject_once',
      'reject_always',
    ])
    const call = updatesOf(editor, 'tool_call').find((u) => u.toolCallId === 'w1')
    expect(call).toMatchObject({
      kind: 'edit',
      status: 'pending',
      title: `Write ${p.path('notes.txt')}`,
      locations: [{ path: p.path('notes.txt') }],
    })
    const statuses = updatesOf(editor, 'tool_call_update')
      .filter((u) => u.toolCallId === 'w1' && u.status)
      .map((u) => u.status)
    expect(statuses).toEqual(['in_progress', 'completed'])
    expect(readFileSync(p.path('notes.txt'), 'utf8')).toBe('hello\n')
    await editor.close()
  })

  it('maps "always reject" to a deny rule of the session: the second call is denied without asking', async () => {
    const write = (id: string) => ({
      toolCalls: [{ id, name: 'Write', input: { file_path: 'secret.txt', content: 'x' } }],
    })
    const { p } = await fixture([write('r1'), write('r2'), { text: 'gave up' }])
    const editor = startEditor(p, { answer: () => 'reject-always' })
    await initialize(editor)
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    await editor.agent.request('session/prompt', { sessionId, prompt: [{ type: 'text', text: 'try' }] })
    expect(editor.permissions.map((r) => r.toolCall.toolCallId)).toEqual(['r1'])
    const failed = updatesOf(editor, 'tool_call_update').filter((u) => u.status === 'failed')
    expect(failed.map((u) => u.toolCallId)).toEqual(['r1', 'r2'])
    expect(p.exists('secret.txt')).toBe(false)
    await editor.close()
  })

  it('cancels a turn while the model is still answering', async () => {
    const { p, server } = await fixture([{ text: 'too late', firstByteDelayMs: 60_000 }])
    const editor = startEditor(p)
    await initialize(editor)
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    const prompt = editor.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'slow' }],
    })
    await until(() => server.requests.length > 0, 'the model call', editor)
    await editor.agent.notify('session/cancel', { sessionId })
    expect((await prompt).stopReason).toBe('cancelled')
    expect(messageText(editor, 'agent_message_chunk')).not.toContain('too late')
    await editor.close()
  })

  it('cancels a turn while a permission question is open: tau withdraws it, the call fails', async () => {
    const { p } = await fixture([
      { toolCalls: [{ id: 'w9', name: 'Write', input: { file_path: 'never.txt', content: 'x' } }] },
      { text: 'not reached' },
    ])
    const editor = startEditor(p, { holdPermission: true })
    await initialize(editor)
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    const prompt = editor.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'write' }],
    })
    await until(() => editor.permissions.length > 0, 'the permission question', editor)
    await editor.agent.notify('session/cancel', { sessionId })
    expect((await prompt).stopReason).toBe('cancelled')
    expect(updatesOf(editor, 'tool_call_update').find((u) => u.toolCallId === 'w9' && u.status)?.status).toBe(
      'failed',
    )
    expect(p.exists('never.txt')).toBe(false)
    await editor.close()
  })

  it('answers bad requests with catalogued errors: a relative cwd, no model, an unknown session', async () => {
    const p = await project({ 'tau.config.json': JSON.stringify({ sandbox: { mode: 'off' } }) })
    const editor = startEditor(p)
    await initialize(editor)
    await expect(
      editor.agent.request('session/new', { cwd: 'relative/dir', mcpServers: [] }),
    ).rejects.toMatchObject({
      data: { code: 'TAU_ACP_BAD_REQUEST' },
      message: expect.stringContaining("cwd must be an absolute path, not 'relative/dir'"),
    })
    await expect(editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })).rejects.toMatchObject({
      data: { code: 'TAU_AGENT_NO_MODEL' },
    })
    await expect(
      editor.agent.request('session/set_mode', { sessionId: 'nope', modeId: 'default' }),
    ).rejects.toMatchObject({ data: { code: 'TAU_ACP_SESSION_NOT_FOUND' } })
    expect(await editor.close()).toBe(0)
    expect(editor.stderr()).not.toMatch(/^\s+at /m)
  })

  it("asks for a plan's approval in the editor, and an approval switches the editor's mode", async () => {
    const { p } = await fixture([
      { toolCalls: [{ id: 'plan1', name: 'ExitPlanMode', input: { plan: '# Plan\n\n1. Add the test' } }] },
      { text: 'on it' },
    ])
    const editor = startEditor(p, { answer: () => 'acceptEdits' })
    await initialize(editor)
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    await editor.agent.request('session/set_mode', { sessionId, modeId: 'plan' })
    await editor.agent.request('session/prompt', { sessionId, prompt: [{ type: 'text', text: 'plan it' }] })
    expect(editor.permissions).toHaveLength(1)
    const asked = editor.permissions[0]!
    expect(asked.toolCall).toMatchObject({ toolCallId: 'plan1', kind: 'switch_mode' })
    expect(JSON.stringify(asked.toolCall.content)).toContain('1. Add the test')
    expect(asked.options.map((o) => o.optionId)).toEqual(['acceptEdits', 'default', 'plan'])
    expect(updatesOf(editor, 'current_mode_update').map((u) => u.currentModeId)).toEqual([
      'plan',
      'acceptEdits',
    ])
    await editor.close()
  })

  it('loads a previous session: the conversation is replayed, and the next prompt goes on with it', async () => {
    const { p, server } = await fixture([
      { toolCalls: [{ id: 'ls1', name: 'LS', input: { path: '.' } }] },
      { text: 'kiwi noted' },
      { text: 'you said kiwi' },
    ])
    const first = startEditor(p)
    await initialize(first)
    const { sessionId } = await first.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    await first.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'remember kiwi' }],
    })
    expect(await first.close()).toBe(0)

    const second = startEditor(p)
    await initialize(second)
    const loaded = await second.agent.request('session/load', { sessionId, cwd: p.dir, mcpServers: [] })
    expect(loaded.modes?.currentModeId).toBe('default')
    expect(messageText(second, 'user_message_chunk')).toBe('remember kiwi')
    expect(messageText(second, 'agent_message_chunk')).toBe('kiwi noted')
    expect(updatesOf(second, 'tool_call').map((u) => [u.toolCallId, u.kind])).toEqual([['ls1', 'search']])
    expect(updatesOf(second, 'tool_call_update').find((u) => u.toolCallId === 'ls1')?.status).toBe(
      'completed',
    )
    const response = await second.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'what did I say?' }],
    })
    expect(response.stopReason).toBe('end_turn')
    expect(lastRequestText(server)).toContain('remember kiwi')
    await expect(
      second.agent.request('session/prompt', {
        sessionId: 'no-such-session',
        prompt: [{ type: 'text', text: 'x' }],
      }),
    ).rejects.toMatchObject({ data: { code: 'TAU_ACP_SESSION_NOT_FOUND' } })
    await second.close()
  })

  it("reads and writes text files through the editor's buffers", async () => {
    const { p, server } = await fixture([
      { toolCalls: [{ id: 'read1', name: 'Read', input: { file_path: 'src.txt' } }] },
      {
        toolCalls: [
          {
            id: 'edit1',
            name: 'Edit',
            input: { file_path: 'src.txt', old_string: 'unsaved', new_string: 'edited' },
          },
        ],
      },
      { text: 'edited it' },
    ])
    await p.write({ 'src.txt': 'on disk\n' })
    const buffers = new Map([[p.path('src.txt'), 'buffer unsaved\n']])
    const editor = startEditor(p, { buffers, fs: true })
    await initialize(editor, { fs: true })
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    await editor.agent.request('session/set_mode', { sessionId, modeId: 'acceptEdits' })
    await until(
      () => updatesOf(editor, 'current_mode_update').some((u) => u.currentModeId === 'acceptEdits'),
      'the mode update',
      editor,
    )
    const response = await editor.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'edit' }],
    })
    expect(response.stopReason).toBe('end_turn')
    // The model read the editor's unsaved text, and the edit went to the editor, not the disk.
    expect(JSON.stringify(server.requests[1]?.body)).toContain('buffer unsaved')
    expect(editor.writes).toEqual([{ sessionId, path: p.path('src.txt'), content: 'buffer edited\n' }])
    expect(readFileSync(p.path('src.txt'), 'utf8')).toBe('on disk\n')
    expect(editor.permissions).toHaveLength(0)
    await editor.close()
  })

  it("runs Bash in the editor's terminal and shows it in the tool call", async () => {
    const { p, server } = await fixture([
      { toolCalls: [{ id: 'sh1', name: 'Bash', input: { command: 'echo term-$((40+2))' } }] },
      { text: 'ran it' },
    ])
    const editor = startEditor(p, { terminal: true })
    await initialize(editor, { terminal: true })
    const { sessionId } = await editor.agent.request('session/new', { cwd: p.dir, mcpServers: [] })
    const response = await editor.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'run' }],
    })
    expect(response.stopReason).toBe('end_turn')
    expect(editor.terminals).toHaveLength(1)
    expect(editor.terminals[0]).toMatchObject({ command: '/bin/sh', cwd: p.dir })
    expect(editor.terminals[0]!.args?.join(' ')).toContain('echo term-$((40+2))')
    const updates = updatesOf(editor, 'tool_call_update').filter((u) => u.toolCallId === 'sh1')
    expect(
      updates.some((u) => u.content?.some((c) => c.type === 'terminal' && c.terminalId === 'term-1')),
    ).toBe(true)
    expect(updates.at(-1)?.status).toBe('completed')
    expect(updatesOf(editor, 'tool_call').find((u) => u.toolCallId === 'sh1')?.kind).toBe('execute')
    // The command's output came back from the terminal to the model.
    expect(lastRequestText(server)).toContain('term-42')
    await editor.close()
  })
})
