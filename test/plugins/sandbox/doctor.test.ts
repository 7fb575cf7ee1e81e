import { describe, expect, it } from 'vitest'
import { bwrapStatus, sandboxChecks } from '../../../plugins/sandbox/index.js'

describe("tau doctor's sandbox report", () => {
  it('says which backend tool processes get and how they die with tau', () => {
    const status = bwrapStatus()
    const [bwrap, death] = sandboxChecks({})
    if (status.available) {
      expect(bwrap).toMatchObject({ name: 'bwrap', ok: true })
      expect(bwrap!.detail).toContain(`at ${status.path}: tool processes are confined (sandbox.mode auto)`)
      expect(death).toMatchObject({ name: 'die-with-tau', ok: true, detail: 'bwrap --die-with-parent' })
    } else {
      // auto falls back: reported, not failed; required, it fails.
      expect(bwrap).toMatchObject({ name: 'bwrap', ok: true })
      expect(bwrap!.detail).toContain(status.reason!)
      expect(sandboxChecks({ mode: 'bwrap' })[0]).toMatchObject({ ok: false })
    }
  })

  it('with sandbox.mode off says processes are unconfined, and names the launcher', () => {
    const [bwrap, death] = sandboxChecks({ mode: 'off' })
    expect(bwrap).toMatchObject({ ok: true, detail: 'sandbox.mode is off: tool processes run unconfined' })
    expect(death!.detail).toMatch(/setpriv --pdeathsig|no launcher/)
  })
})
