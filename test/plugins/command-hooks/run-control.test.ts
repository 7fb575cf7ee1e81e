/**
 * What command hooks do to the run beyond one call's decision: `continue: false` stops it from
 * PreToolUse and PostToolUse, `systemMessage` and non-blocking errors are notification events of
 * the run, `updatedInput` without a decision leaves the decision to the permissions, and stdin
 * carries `permission_mode` and `transcript_path`.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import session, { projectKey } from '../../../plugins/session/index.js'
import { bash, harness, hook, ofType, project, resultOf, toolText } from './helpers.js'

const json = (value: unknown) => `echo '${JSON.stringify(value)}'`

describe('continue: false', () => {
  it('from PreToolUse: the call is denied, the run stops (hook-stopped) with the stopReason, no model call follows', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', json({ continue: false, stopReason: 'the deploy window is closed' })),
      turns: [bash('c1', 'touch ran.txt'), { text: 'never' }],
    })
    const events = await h.run('deploy')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(false)
    expect(toolText(events, 'c1')).toContain('the deploy window is closed')
    expect(h.scripted.requests).toHaveLength(1)
    expect(resultOf(events)).toMatchObject({
      stopReason: 'hook-stopped',
      isError: true,
      error: {
        code: 'TAU_AGENT_HOOK_STOPPED',
        message: 'a hook stopped the run: the deploy window is closed',
      },
    })
  })

  it('from PostToolUse: the tool ran and its result is kept, then the run stops', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PostToolUse', json({ continue: false, stopReason: 'tests are red' }), { matcher: 'Bash' }),
      turns: [bash('c1', 'echo built'), { text: 'never' }],
    })
    const events = await h.run('build')
    expect(toolText(events, 'c1')).toContain('built')
    expect(toolText(events, 'c1')).not.toContain('tests are red')
    expect(h.scripted.requests).toHaveLength(1)
    expect(resultOf(events)).toMatchObject({
      stopReason: 'hook-stopped',
      error: { message: 'a hook stopped the run: tests are red' },
    })
  })
})

describe('messages for the user', () => {
  it('systemMessage is a notification event of the run', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PostToolUse', json({ systemMessage: 'formatted 3 files' })),
      turns: [bash('c1', 'echo hi'), { text: 'ok' }],
    })
    const events = await h.run('go')
    const notice = ofType(events, 'notification')[0]!
    expect(notice).toMatchObject({ level: 'warn', message: 'formatted 3 files' })
    expect(events.indexOf(notice)).toBeLessThan(events.findIndex((e) => e.type === 'tool-end'))
    expect(h.warnings()).toEqual([])
  })

  it('a failing Notification hook is logged, never notified (it would run itself again)', async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: {
        ...hook('PostToolUse', json({ systemMessage: 'hello' })),
        ...hook('Notification', 'echo "$(cat)" >> notified.jsonl; exit 1'),
      },
      turns: [bash('c1', 'echo hi'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(ofType(events, 'notification').map((n) => n.message)).toEqual(['hello'])
    const lines = (await readFile(join(p.dir, 'notified.jsonl'), 'utf8')).trim().split('\n')
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['hello'])
    expect(h.warnings()).toContainEqual(expect.stringMatching(/Notification hook .* exited with 1/))
  })
})

describe('updatedInput without permissionDecision', () => {
  it('rewrites the input and lets the permission rules decide it', async () => {
    const p = await project()
    const rewrite = json({
      hookSpecificOutput: { hookEventName: 'PreToolUse', updatedInput: { command: 'echo safe' } },
    })
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash(echo safe)'] } },
      hooks: hook('PreToolUse', rewrite),
      turns: [bash('c1', 'rm -rf everything'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(toolText(events, 'c1')).toContain('safe')
    // The rule allowed the rewritten command; the hook itself allowed nothing.
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({
      behavior: 'allow',
      source: 'rule',
      reason: expect.stringContaining('Bash(echo safe)'),
    })
    expect(h.warnings()).toEqual([])
  })

  it('the rewritten input still needs the permissions: headless, a call no rule allows is denied', async () => {
    const p = await project()
    const rewrite = json({ hookSpecificOutput: { updatedInput: { command: 'touch ran.txt' } } })
    const h = await harness({
      project: p,
      hooks: hook('PreToolUse', rewrite),
      turns: [bash('c1', 'ls'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(false)
    expect(ofType(events, 'permission-request')[0]).toMatchObject({ input: { command: 'touch ran.txt' } })
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'deny', source: 'headless' })
  })
})

describe('stdin', () => {
  it('has permission_mode, and transcript_path: the session file when the session plugin writes one', async () => {
    const p = await project()
    // Keeps stdin, and a copy of the transcript as it is while the hook runs.
    const record =
      'cat > stdin.json; cp "$(sed -n \'s/.*"transcript_path":"\\([^"]*\\)".*/\\1/p\' stdin.json)" seen.jsonl'
    const h = await harness({
      project: p,
      plugins: [session],
      config: { permissions: { allow: ['Bash'] }, session: { fsync: false } },
      hooks: hook('PreToolUse', record),
      turns: [bash('c1', 'echo hi'), { text: 'ok' }],
    })
    const events = await h.run('go', { permissionMode: 'acceptEdits' })
    const stdin = JSON.parse(await readFile(join(p.dir, 'stdin.json'), 'utf8'))
    const id = events[0]!.sessionId
    expect(stdin).toMatchObject({
      session_id: id,
      permission_mode: 'acceptEdits',
      // Under $TAU_HOME/projects/<project-key>/, outside the workspace.
      transcript_path: expect.stringMatching(new RegExp(`/projects/${projectKey(p.dir)}/${id}\\.jsonl$`)),
    })
    // The prompt and the model's call were in the file when the hook ran.
    const text = await readFile(join(p.dir, 'seen.jsonl'), 'utf8')
    expect(text).toContain('"type":"meta"')
    expect(text).toContain('echo hi')
  })

  it("transcript_path is '' without the session plugin; permission_mode is the mode", async () => {
    const p = await project()
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      hooks: hook('PreToolUse', 'cat > stdin.json'),
      turns: [bash('c1', 'echo hi'), { text: 'ok' }],
    })
    await h.run('go', { permissionMode: 'plan' })
    const stdin = JSON.parse(await readFile(join(p.dir, 'stdin.json'), 'utf8'))
    expect(stdin).toMatchObject({ transcript_path: '', permission_mode: 'plan' })
    expect(stdin.agent_id).toBeUndefined()
  })
})
