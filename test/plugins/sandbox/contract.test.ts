/**
 * The environment contract against every backend that runs here. Bubblewrap is required where CI
 * runs (CI=true: .ci/run installs it), so a missing one fails there instead of skipping.
 */
import { describe, expect, it } from 'vitest'
import { BwrapEnvironment, bwrapStatus } from '../../../plugins/sandbox/bwrap.js'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { socatPath } from '../../../plugins/sandbox/network-bridge.js'
import { environmentContract } from './contract.js'

environmentContract({
  name: 'local',
  fixtureKind: 'local',
  create: (options) => new LocalEnvironment(options),
})

const bwrap = bwrapStatus()
if (process.env.CI === 'true') {
  describe('CI has the sandbox tools', () => {
    it('has a working bubblewrap', () => {
      expect(bwrap).toMatchObject({ available: true })
    })
    it('has socat, for the network allowlist', () => {
      expect(socatPath()).toBeDefined()
    })
  })
}
if (bwrap.available) {
  environmentContract({
    name: 'bwrap',
    fixtureKind: 'bwrap',
    create: (options) => new BwrapEnvironment(options),
  })
}
