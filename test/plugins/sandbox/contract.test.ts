/**
 * The environment contract against every backend that runs here. Bubblewrap is required where CI
 * runs (CI=true: .ci/run installs it), so a missing one fails there instead of skipping.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BwrapEnvironment, bwrapStatus } from '../../../plugins/sandbox/bwrap.js'
import { ContainerEnvironment } from '../../../plugins/sandbox/container.js'
import { BwrapRootfsRuntime } from '../../../plugins/sandbox/container-rootfs.js'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { socatPath } from '../../../plugins/sandbox/network-bridge.js'
import { environmentContract } from './contract.js'
import { buildRootfs, ROOTFS_MARKER, ROOTFS_MOUNTS } from './rootfs.js'

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

// A container over bubblewrap: a root filesystem built here from the host's binaries.
if (bwrap.available) {
  const rootfs = buildRootfs(mkdtempSync(join(tmpdir(), 'tau-contract-rootfs-')))
  // For fixtures/hold-commands.mjs, a separate process.
  process.env.TAU_TEST_ROOTFS = rootfs
  afterAll(() => rmSync(rootfs, { recursive: true, force: true }))
  environmentContract({
    name: 'container (bwrap over a rootfs)',
    fixtureKind: 'container',
    create: (options) =>
      new ContainerEnvironment({
        ...options,
        runtime: new BwrapRootfsRuntime(),
        spec: { rootfs, containerEnv: {}, mounts: ROOTFS_MOUNTS },
      }),
  })
  describe('container (bwrap over a rootfs): what is its own', () => {
    it('runs in the container root, with its user and containerEnv, the workspace at the same path', async () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-contract-ws-')))
      const env = new ContainerEnvironment({
        cwd: dir,
        tauHome: join(dir, '..', 'tau-contract-no-home'),
        runtime: new BwrapRootfsRuntime(),
        spec: { rootfs, containerEnv: { IN_CONTAINER: 'yes' }, mounts: ROOTFS_MOUNTS, user: 'dev' },
      })
      try {
        expect(env.kind).toBe('container')
        const r = await env.exec(
          `cat ${ROOTFS_MARKER}; id -u; pwd; echo "$IN_CONTAINER"; echo hi > f; ls /etc`,
        )
        expect(r.stdout).toBe(`tau test container\n1234\n${dir}\nyes\npasswd\ntau-test-container\n`)
        expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('hi\n')
        await expect(
          new BwrapRootfsRuntime().create({
            rootfs: dir,
            workspace: [dir],
            containerEnv: {},
            mounts: [],
            network: 'none',
          }),
        ).rejects.toMatchObject({
          code: 'TAU_SANDBOX_CONTAINER',
          plugin: 'sandbox',
          message: expect.stringContaining('has no /bin/sh'),
        })
      } finally {
        await env.dispose()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
