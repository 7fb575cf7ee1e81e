/** UserPromptSubmit, Stop, SessionStart, PostToolUse and SessionEnd command hooks through the agent loop. */
import { readFile, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sessionEndReason } from '../../../plugins/command-hooks/dispatch.js'
import { bash, harness, hook, lastUserText, project, resultOf, toolText } from './helpers.js'

describe('UserPromptSubmit', () => {
  it('exit 2 blocks the prompt before any model call', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      hooks: hook(
        'UserPromptSubmit',
        'grep -q secret && { echo "the prompt holds a secret" >&2; exit 2; }; exit 0',
      ),
      turns: [{ text: 'never' }],
    })
    const events = await h.run('my secret is 42')
    expect(resultOf(events)).toMatchObject({
      stopReason: 'blocked',
      error: { message: expect.stringContaining('the prompt holds a secret') },
    })
    expect(h.scripted.requests).toHaveLength(0)
  })

  it('decision block in JSON blocks too; additionalContext and plain stdout reach the model with the prompt', async () => {
    const p = await project()
    const context = JSON.stringify({ hookSpecificOutput: { additionalContext: 'The build runs with make.' } })
    const h = await harness({
      project: p,
      hooks: {
        UserPromptSubmit: [
          {
            hooks: [
              { type: 'command', command: `echo '${context}'` },
              { type: 'command', command: 'echo "Today is release day."' },
            ],
          },
        ],
      },
      turns: [{ text: 'fine' }],
    })
    const events = await h.run('build it')
    expect(resultOf(events).stopReason).toBe('end-turn')
    const sent = lastUserText(h.scripted, 0)
    expect(sent).toContain('build it')
    expect(sent).toContain('The build runs with make.')
    expect(sent).toContain('Today is release day.')

    const blocking = await harness({
      project: p,
      hooks: hook('UserPromptSubmit', `echo '{"decision":"block","reason":"not during the freeze"}'`),
      turns: [{ text: 'never' }],
    })
    expect(resultOf(await blocking.run('deploy'))).toMatchObject({
      stopReason: 'blocked',
      error: { message: expect.stringContaining('not during the freeze') },
    })
  })
})

describe('Stop', () => {
  it('decision block makes the agent go on with the reason; stop_hook_active is true the second time', async () => {
    const p = await project()
    await p.write(
      'hooks/stop.sh',
      `#!/bin/sh
input=$(cat)
echo "$input" >> stops.jsonl
case "$input" in
  *'"stop_hook_active":true'*) exit 0 ;;
esac
echo '{"decision":"block","reason":"Run the tests before you stop."}'
`,
      0o755,
    )
    const h = await harness({
      project: p,
      hooks: hook('Stop', 'sh hooks/stop.sh'),
      turns: [{ text: 'All done.' }, { text: 'Tests pass.' }],
    })
    const events = await h.run('fix it')
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', text: 'Tests pass.', turns: 2 })
    expect(lastUserText(h.scripted, 1)).toBe('Run the tests before you stop.')
    const lines = (await readFile(join(p.dir, 'stops.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.stop_hook_active)).toEqual([false, true])
    expect(lines[0]).toMatchObject({ hook_event_name: 'Stop' })
  })

  it('exit 2 also continues, with stderr as the reason', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      hooks: hook(
        'Stop',
        'grep -q \'"stop_hook_active":false\' && { echo "Update the changelog." >&2; exit 2; }; exit 0',
      ),
      turns: [{ text: 'Done.' }, { text: 'Changelog updated.' }],
    })
    const events = await h.run('ship')
    expect(resultOf(events).text).toBe('Changelog updated.')
    expect(lastUserText(h.scripted, 1)).toBe('Update the changelog.')
  })
})

describe('SessionStart, PostToolUse, SessionEnd', () => {
  it('SessionStart stdout goes into the system prompt; SessionEnd runs at close', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      hooks: {
        ...hook('SessionStart', 'echo "Open issues: #12, #14"', { matcher: 'startup' }),
        ...hook('SessionEnd', 'cat > ended.json'),
      },
      turns: [{ text: 'hi' }],
    })
    await h.run('hello')
    const system = h.scripted.requests[0]!.messages[0]!
    expect(system.role).toBe('system')
    expect(system.content).toContain('Open issues: #12, #14')
    const ended = JSON.parse(await readFile(join(p.dir, 'ended.json'), 'utf8'))
    expect(ended).toMatchObject({ hook_event_name: 'SessionEnd', reason: expect.any(String) })
  })

  it('PostToolUse gets the tool response; its block reason and additionalContext are added to the result', async () => {
    const p = await project()
    const out = JSON.stringify({
      decision: 'block',
      reason: 'the output mentions a password',
      hookSpecificOutput: { hookEventName: 'PostToolUse', additionalContext: 'lint: 0 problems' },
    })
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PostToolUse', `cat > post.json; echo '${out}'`, { matcher: 'Bash' }),
      turns: [bash('c1', 'echo hello'), { text: 'ok' }],
    })
    const events = await h.run('go')
    const text = toolText(events, 'c1')
    expect(text).toContain('hello')
    expect(text).toContain('PostToolUse hook feedback: the output mentions a password')
    expect(text).toContain('PostToolUse hook context: lint: 0 problems')
    const post = JSON.parse(await readFile(join(p.dir, 'post.json'), 'utf8'))
    expect(post).toMatchObject({
      hook_event_name: 'PostToolUse',
      tool_name: 'Bash',
      tool_input: { command: 'echo hello' },
      tool_use_id: 'c1',
      // Bash's structured result, as Claude Code sends it (not the text the model got).
      tool_response: { stdout: 'hello', stderr: '', interrupted: false },
      duration_ms: expect.any(Number),
      prompt_id: resultOf(events).runId,
    })
  })

  it("PostToolUse gets Read's {type, file} and Glob's {filenames}; Stop gets last_assistant_message", async () => {
    const p = await project()
    await p.write('notes.txt', 'one\ntwo\nthree\n')
    const h = await harness({
      project: p,
      hooks: {
        ...hook('PostToolUse', '{ cat; echo; } >> post.jsonl'),
        ...hook('Stop', 'cat > stop.json'),
      },
      turns: [
        { toolCalls: [{ id: 'r1', name: 'Read', input: { file_path: 'notes.txt', offset: 2 } }] },
        { toolCalls: [{ id: 'g1', name: 'Glob', input: { pattern: '*.txt' } }] },
        { text: 'Read and globbed.' },
      ],
    })
    await h.run('look')
    const posts = (await readFile(join(p.dir, 'post.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { tool_name: string; tool_response: unknown })
    const real = join(await realpath(p.dir), 'notes.txt')
    expect(posts.find((post) => post.tool_name === 'Read')?.tool_response).toEqual({
      type: 'text',
      file: { filePath: real, content: 'two\nthree', numLines: 2, startLine: 2, totalLines: 3 },
    })
    expect(posts.find((post) => post.tool_name === 'Glob')?.tool_response).toEqual({
      filenames: [real],
      numFiles: 1,
      truncated: false,
    })
    const stop = JSON.parse(await readFile(join(p.dir, 'stop.json'), 'utf8'))
    expect(stop).toMatchObject({ hook_event_name: 'Stop', last_assistant_message: 'Read and globbed.' })
  })

  it("SessionEnd's reason is Claude Code's word for why the session ended", () => {
    expect(sessionEndReason('clear')).toBe('clear')
    expect(sessionEndReason('exit')).toBe('prompt_input_exit')
    expect(sessionEndReason('stop')).toBe('other')
  })
})

describe('PreToolUse and deny rules', () => {
  it('a call a deny rule refuses never reaches PreToolUse; an allowed one does', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash(echo:*)'], deny: ['Bash(rm:*)'] } },
      hooks: hook('PreToolUse', '{ cat; echo; } >> pre.jsonl', { matcher: 'Bash' }),
      turns: [
        {
          toolCalls: [
            { id: 'ok', name: 'Bash', input: { command: 'echo fine' } },
            { id: 'no', name: 'Bash', input: { command: 'rm -rf build' } },
          ],
        },
        { text: 'done' },
      ],
    })
    const events = await h.run('go')
    expect(toolText(events, 'no')).toContain('denied')
    const seen = (await readFile(join(p.dir, 'pre.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { tool_use_id: string }).tool_use_id)
    expect(seen).toEqual(['ok'])
  })
})
