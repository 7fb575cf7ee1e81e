/**
 * PreToolUse command hooks through the real agent loop: allow, block (exit 2), rewrite input,
 * a hook that hangs, malformed output, a non-blocking error, and matchers.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileMatcher } from '../../../plugins/command-hooks/index.js'
import { bash, harness, hook, ofType, project, resultOf, toolText } from './helpers.js'

const allowJson = JSON.stringify({
  hookSpecificOutput: {
    hookEventName: 'PreToolUse',
    permissionDecision: 'allow',
    permissionDecisionReason: 'checked by guard.sh',
  },
})

describe('PreToolUse command hooks', () => {
  it('allow: the hook gets the event as JSON on stdin and its allow skips the permission check', async () => {
    const p = await project()
    await p.write(
      'hooks/guard.sh',
      `#!/bin/sh\ncat > "$CLAUDE_PROJECT_DIR/stdin.json"\necho "$TAU_PROJECT_DIR|$(pwd)" > "$CLAUDE_PROJECT_DIR/env.txt"\necho '${allowJson}'\n`,
      0o755,
    )
    // No allow rule: without the hook, Bash would need approval, and headless denies it.
    const h = await harness({
      project: p,
      hooks: hook('PreToolUse', '"$CLAUDE_PROJECT_DIR/hooks/guard.sh"', { matcher: 'Bash' }),
      turns: [bash('c1', 'echo ran > ran.txt'), { text: 'done' }],
    })
    const events = await h.run('go')
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({
      behavior: 'allow',
      source: 'hook',
      reason: 'checked by guard.sh',
    })
    expect(await readFile(join(p.dir, 'ran.txt'), 'utf8')).toBe('ran\n')
    const stdin = JSON.parse(await readFile(join(p.dir, 'stdin.json'), 'utf8'))
    expect(stdin).toMatchObject({
      session_id: events[0]!.sessionId,
      cwd: p.dir,
      hook_event_name: 'PreToolUse',
      tool_name: 'Bash',
      tool_input: { command: 'echo ran > ran.txt' },
      tool_use_id: 'c1',
    })
    expect(await readFile(join(p.dir, 'env.txt'), 'utf8')).toBe(`${p.dir}|${p.dir}\n`)
  })

  it('exit 2 blocks the call and its stderr is the reason the model reads', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', 'echo "rm is forbidden here; use trash" >&2; exit 2'),
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(false)
    expect(toolText(events, 'c1')).toBe('Permission to use Bash was denied: rm is forbidden here; use trash')
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'deny', source: 'hook' })
    // The next model call carries the denial as the tool result.
    expect(JSON.stringify(h.scripted.requests[1]!.messages.at(-1))).toContain(
      'rm is forbidden here; use trash',
    )
    expect(resultOf(events).stopReason).toBe('end-turn')
  })

  it('updatedInput with allow rewrites the call', async () => {
    const p = await project()
    const out = JSON.stringify({
      hookSpecificOutput: {
        hookEventName: 'PreToolUse',
        permissionDecision: 'allow',
        updatedInput: { command: 'echo rewritten > out.txt' },
      },
    })
    await p.write('hooks/rewrite.sh', `#!/bin/sh\necho '${out}'\n`, 0o755)
    const h = await harness({
      project: p,
      hooks: hook('PreToolUse', 'sh hooks/rewrite.sh'),
      turns: [bash('c1', 'echo original > out.txt'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(await readFile(join(p.dir, 'out.txt'), 'utf8')).toBe('rewritten\n')
    expect(ofType(events, 'tool-end')[0]!.result.isError).toBeUndefined()
  })

  it('a hook that hangs is killed at its timeout, and the call is denied (fail closed)', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', 'echo $$ > hook.pid; sleep 600', { timeout: 0.5 }),
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    // The hook sleeps longer than the test may take: only its kill at the timeout ends the run.
    const events = await h.run('go')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(false)
    expect(toolText(events, 'c1')).toMatch(
      /denied: the PreToolUse hook .* timed out after 0\.5 s and was killed/,
    )
    const pid = Number(await readFile(join(p.dir, 'hook.pid'), 'utf8'))
    expect(() => process.kill(pid, 0)).toThrow()
    // Shown to the user as a notification event of the run (not only logged).
    expect(ofType(events, 'notification').map((n) => n.message)).toContainEqual(
      expect.stringMatching(
        /PreToolUse hook 'echo .*' \(hooks\.PreToolUse\[0\]\.hooks\[0\] in .*\) timed out/,
      ),
    )
  })

  it.each([
    ['truncated JSON', `echo '{"hookSpecificOutput": {"permissionDecision": '`],
    ['an unknown decision', `echo '{"hookSpecificOutput": {"permissionDecision": "yes"}}'`],
    ['plain text', `echo 'looks fine to me'`],
  ])('malformed output (%s) denies the call', async (_name, command) => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', command),
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(false)
    expect(toolText(events, 'c1')).toMatch(
      /denied: the PreToolUse hook .*(malformed output|not a JSON decision)/,
    )
  })

  it('another exit code is a non-blocking error: shown to the user, the permissions decide', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', 'echo "jq: not found" >&2; exit 1'),
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(true)
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'allow', source: 'rule' })
    const notice = ofType(events, 'notification').find((n) => n.message.includes('exited with 1'))
    expect(notice).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(/PreToolUse hook .* exited with 1: jq: not found/),
    })
    // In the stream where it happened: after the call started, before it was decided.
    const at = events.indexOf(notice!)
    expect(at).toBeGreaterThan(events.findIndex((e) => e.type === 'tool-start'))
    expect(at).toBeLessThan(events.findIndex((e) => e.type === 'permission-decision'))
    // Shown once: not also as a warning in the log.
    expect(h.warnings()).toEqual([])
  })

  it('deny beats allow when several hooks match, and identical commands run once', async () => {
    const p = await project()
    const deny = JSON.stringify({
      hookSpecificOutput: { permissionDecision: 'deny', permissionDecisionReason: 'no writes today' },
    })
    const count = 'echo x >> count.txt'
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: {
        PreToolUse: [
          { matcher: 'Bash', hooks: [{ type: 'command', command: `echo '${allowJson}'` }] },
          { matcher: '*', hooks: [{ type: 'command', command: `echo '${deny}'` }] },
          { hooks: [{ type: 'command', command: count }] },
          { matcher: '', hooks: [{ type: 'command', command: count }] },
        ],
      },
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(toolText(events, 'c1')).toBe('Permission to use Bash was denied: no writes today')
    expect(await readFile(join(p.dir, 'count.txt'), 'utf8')).toBe('x\n')
  })

  it('a matcher that does not name the tool does not run; a regular expression does', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: {
        PreToolUse: [
          { matcher: 'Write|Edit', hooks: [{ type: 'command', command: 'echo no >&2; exit 2' }] },
          { matcher: 'Ba.h', hooks: [{ type: 'command', command: 'touch regex-ran' }] },
          { matcher: 'Bas', hooks: [{ type: 'command', command: 'touch exact-ran' }] },
        ],
      },
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    await h.run('go')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(true)
    expect(existsSync(join(p.dir, 'regex-ran'))).toBe(true)
    expect(existsSync(join(p.dir, 'exact-ran'))).toBe(false)
  })
})

describe('matchers', () => {
  it('reads `*`, empty and missing as everything, word lists exactly, the rest as a regular expression', () => {
    expect(compileMatcher(undefined)('Anything')).toBe(true)
    expect(compileMatcher('')('Bash')).toBe(true)
    expect(compileMatcher('*')('mcp__x__y')).toBe(true)
    const exact = compileMatcher('Edit|Write')
    expect([exact('Edit'), exact('Write'), exact('MultiEdit'), exact('edit')]).toEqual([
      true,
      true,
      false,
      false,
    ])
    const regex = compileMatcher('mcp__github__.*')
    expect([regex('mcp__github__create_issue'), regex('mcp__gitlab__x')]).toEqual([true, false])
    expect(compileMatcher('Notebook.*')('NotebookEdit')).toBe(true)
    expect(() => compileMatcher('Bash(')).toThrow()
  })
})
