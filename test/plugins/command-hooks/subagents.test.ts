/**
 * SubagentStart and SubagentStop command hooks with the real subagents plugin (the Task tool) and
 * the session plugin writing transcripts: Claude Code's stdin fields, SubagentStart's context for
 * the child, SubagentStop keeping the subagent at work, Stop hooks not running for subagents, and
 * the subagent identity on the child's other events.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import session, { projectKey } from '../../../plugins/session/index.js'
import subagents from '../../../plugins/subagents/index.js'
import { bash, harness, hook, ofType, project, resultOf, toolText } from './helpers.js'

const task = (id: string, prompt: string): ScriptTurn => ({
  toolCalls: [
    { id, name: 'Task', input: { description: 'check it', prompt, subagent_type: 'general-purpose' } },
  ],
})

async function jsonLines(file: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe('SubagentStart and SubagentStop', () => {
  it("run around a Task call's child with Claude Code's fields; SubagentStop's block keeps the child at work", async () => {
    const p = await project()
    await p.write(
      'hooks/subagent-stop.sh',
      `#!/bin/sh
input=$(cat)
echo "$input" >> subagent-stop.jsonl
case "$input" in
  *'"stop_hook_active":true'*) exit 0 ;;
esac
echo '{"decision":"block","reason":"Check the tests too."}'
`,
      0o755,
    )
    const start = JSON.stringify({
      hookSpecificOutput: { hookEventName: 'SubagentStart', additionalContext: 'The tests live in test/.' },
    })
    const h = await harness({
      project: p,
      plugins: [session, subagents],
      config: { permissions: { allow: ['Bash'] }, session: { fsync: false } },
      hooks: {
        ...hook('SubagentStart', `cat > subagent-start.json; echo '${start}'`, {
          matcher: 'general-purpose',
        }),
        ...hook('SubagentStop', 'sh hooks/subagent-stop.sh', { matcher: 'general-purpose' }),
        ...hook('Stop', '{ cat; echo; } >> stop.jsonl'),
        ...hook('PreToolUse', '{ cat; echo; } >> pre-tool-use.jsonl'),
      },
      turns: [
        task('task_1', 'Look at the code'),
        bash('c1', 'echo looked'), // the child
        { text: 'The code is fine.' }, // the child stops: SubagentStop blocks
        { text: 'The code and the tests are fine.' }, // the child goes on, stops again
        { text: 'All fine.' }, // the parent
      ],
    })
    const events = await h.run('review')
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', text: 'All fine.' })
    expect(toolText(events, 'task_1')).toBe('The code and the tests are fine.')
    const parentId = events[0]!.sessionId
    const childId = events.find((e) => e.parentToolCallId === 'task_1')!.sessionId
    const transcript = (id: string) =>
      expect.stringMatching(new RegExp(`/projects/${projectKey(p.dir)}/${id}\\.jsonl$`))

    const started = JSON.parse(await readFile(join(p.dir, 'subagent-start.json'), 'utf8'))
    expect(started).toMatchObject({
      hook_event_name: 'SubagentStart',
      session_id: parentId,
      transcript_path: transcript(parentId),
      cwd: p.dir,
      permission_mode: 'default',
      agent_id: childId,
      agent_type: 'general-purpose',
      prompt: 'Look at the code',
    })
    // SubagentStart's additionalContext is in the child's system prompt, not the parent's.
    const [parentCall, childCall] = h.scripted.requests
    expect(childCall!.messages[0]!.content).toContain('The tests live in test/.')
    expect(parentCall!.messages[0]!.content).not.toContain('The tests live in test/.')

    const stops = await jsonLines(join(p.dir, 'subagent-stop.jsonl'))
    expect(stops).toHaveLength(2)
    expect(stops[0]).toMatchObject({
      hook_event_name: 'SubagentStop',
      session_id: parentId,
      transcript_path: transcript(parentId),
      agent_id: childId,
      agent_type: 'general-purpose',
      agent_transcript_path: transcript(childId),
      last_assistant_message: 'The code is fine.',
      stop_hook_active: false,
    })
    expect(stops[1]).toMatchObject({
      stop_hook_active: true,
      last_assistant_message: 'The code and the tests are fine.',
    })
    // The block's reason was the child's next prompt.
    expect(JSON.stringify(h.scripted.requests[3]!.messages.at(-1))).toContain('Check the tests too.')

    // Stop hooks ran for the parent only (as in Claude Code, SubagentStop replaces Stop in a subagent).
    const parentStops = await jsonLines(join(p.dir, 'stop.jsonl'))
    expect(parentStops.map((s) => s.session_id)).toEqual([parentId])

    // The child's other events say which subagent they come from.
    const pre = await jsonLines(join(p.dir, 'pre-tool-use.jsonl'))
    const childPre = pre.find((line) => line.tool_use_id === 'c1')!
    expect(childPre).toMatchObject({
      session_id: childId,
      agent_id: childId,
      agent_type: 'general-purpose',
      transcript_path: transcript(childId),
    })
    expect(pre.find((line) => line.tool_use_id === 'task_1')!.agent_id).toBeUndefined()
  })

  it("a hook's message inside a subagent reaches the parent's stream, tagged with the Task call", async () => {
    const p = await project()
    const h = await harness({
      project: p,
      plugins: [subagents],
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', `echo '{"systemMessage":"audited"}'`, { matcher: 'Bash' }),
      turns: [task('task_1', 'Run it'), bash('c1', 'echo ran'), { text: 'done' }, { text: 'ok' }],
    })
    const events = await h.run('go')
    const notice = ofType(events, 'notification').find((n) => n.message === 'audited')
    expect(notice?.parentToolCallId).toBe('task_1')
    expect(notice?.sessionId).not.toBe(events[0]!.sessionId)
  })
})
