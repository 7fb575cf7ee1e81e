/**
 * The permission mode and the rules granted during a session survive a resume in a new kernel
 * (another process, as far as the session can tell): the log records them, and the resumed
 * session starts in that mode with those rules in force, through the real permissions plugin.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import permissions from '../../../plugins/permissions/index.js'
import session, { type SessionService, sessionServiceRef } from '../../../plugins/session/index.js'
import { harness, resultOf, tempDir } from '../agent/helpers.js'

const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})

async function kernelIn(cwd: string, answer: string) {
  const h = await harness({
    cwd,
    turns: [{ text: answer }],
    plugins: [permissions, session],
    tauHome: join(cwd, '.tau-home'),
    config: { session: { durability: 'off' } },
  })
  return { h, sessions: h.kernel.resolve(sessionServiceRef) as SessionService }
}

describe('resume restores permissions', () => {
  it('the mode and the granted rules of a session hold again after a resume in a new kernel', async () => {
    const d = await tempDir('tau-resume-perms-')
    dirs.push(d)
    const first = await kernelIn(d.dir, 'First.')
    const s1 = first.h.session()
    s1.permissions!.setMode('acceptEdits')
    await s1.permissions!.addRule('Bash(npm test:*)', 'allow')
    await s1.permissions!.addRule('WebFetch', 'deny')
    expect(resultOf(await first.h.run(s1, 'go')).stopReason).toBe('end-turn')
    await first.h.kernel.stop()

    const second = await kernelIn(d.dir, 'Second.')
    const plan = await second.sessions.resume('latest')
    expect(plan.options.id).toBe(s1.id)
    expect(plan.options.permissionMode).toBe('acceptEdits')
    const s2 = second.h.session({ ...plan.options })
    expect(s2.permissions!.mode).toBe('acceptEdits')
    const sessionRules = s2.permissions!.rules().filter((r) => r.source.scope === 'session')
    expect(sessionRules.map((r) => [r.text, r.behavior])).toEqual(
      expect.arrayContaining([
        ['Bash(npm test:*)', 'allow'],
        ['WebFetch', 'deny'],
      ]),
    )
    expect(sessionRules).toHaveLength(2)
    // In force, not only listed: the rule decides the call it names.
    expect(s2.permissions!.explain('Bash(npm test --watch=false)')).toMatchObject({ behavior: 'allow' })
    expect(s2.permissions!.explain('WebFetch(https://example.com)')).toMatchObject({ behavior: 'deny' })
    expect(resultOf(await second.h.run(s2, 'again')).text).toBe('Second.')
  })
})
