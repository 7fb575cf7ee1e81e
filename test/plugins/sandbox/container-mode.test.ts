/**
 * `sandbox.mode: 'container'` from config: tau's container block over the project's
 * devcontainer.json, run by the rootfs runtime under real bubblewrap (a rootfs built here from the
 * host's binaries). The project file's mounts and postCreateCommand wait for workspace trust;
 * fields tau cannot honour are refused by name.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, realpath, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestKernel } from 'tau-agent/testing'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import sandbox, {
  BwrapRootfsRuntime,
  bwrapStatus,
  ContainerEnvironment,
  environmentRef,
} from '../../../plugins/sandbox/index.js'
import { setTrust } from '../../../plugins/trust/index.js'
import { buildRootfs, ROOTFS_MARKER } from './rootfs.js'

const bwrap = bwrapStatus()
/** devcontainer.json's variable syntax (not a template here). */
const LOCAL_ENV = '$' + '{localEnv:GITHUB_TOKEN}'

describe.runIf(bwrap.available || process.env.CI === 'true')(
  'sandbox.mode container (rootfs runtime)',
  () => {
    const rootfs = bwrap.available ? buildRootfs(mkdtempSync(join(tmpdir(), 'tau-mode-rootfs-'))) : ''
    const made: string[] = []
    afterAll(() => {
      for (const dir of [rootfs, ...made]) rmSync(dir, { recursive: true, force: true })
    })
    // vitest.config.ts trusts every test project (TAU_TRUST=1): here trust is what is tested.
    beforeEach(() => {
      vi.stubEnv('TAU_TRUST', '0')
    })
    afterEach(() => {
      vi.unstubAllEnvs()
    })

    /** A project with a devcontainer.json (with comments, as such files are written) and a data dir to mount. */
    async function project(devcontainer: string): Promise<{ dir: string; tauHome: string; data: string }> {
      const dir = await realpath(await mkdtemp(join(tmpdir(), 'tau-mode-project-')))
      const tauHome = await mkdtemp(join(tmpdir(), 'tau-mode-home-'))
      const data = await realpath(await mkdtemp(join(tmpdir(), 'tau-mode-data-')))
      made.push(dir, tauHome, data)
      await writeFile(join(data, 'data.txt'), 'host data\n')
      await mkdir(join(dir, '.devcontainer'))
      await writeFile(join(dir, '.devcontainer', 'devcontainer.json'), devcontainer.replaceAll('DATA', data))
      return { dir, tauHome, data }
    }

    const DEVCONTAINER = `{
  // the project's container
  "name": "test",
  "image": "mcr.microsoft.com/devcontainers/base:debian", /* unused: a rootfs is given */
  "remoteUser": "dev",
  "containerEnv": { "FROM_DC": "dc", "WS": "\${localWorkspaceFolderBasename}" },
  "remoteEnv": { "REMOTE": "r", },
  "mounts": ["source=DATA,target=/data,type=bind,readonly"],
  "postCreateCommand": "echo created > post-created.txt",
  "customizations": { "vscode": { "extensions": ["x.y"] } },
}
`

    const probe = `cat ${ROOTFS_MARKER}; id -u; echo "$FROM_TAU $FROM_DC $REMOTE $WS"; cat /data/data.txt 2>&1; cat post-created.txt 2>&1; (echo x > /data/new) 2>/dev/null || echo data-read-only`

    it('runs a trusted project in its container: devcontainer.json fields, tau block over them, postCreateCommand once', async () => {
      const p = await project(DEVCONTAINER)
      await setTrust(p.tauHome, p.dir, true)
      const kernel = await createTestKernel({
        plugins: [sandbox],
        cwd: p.dir,
        tauHome: p.tauHome,
        config: { sandbox: { mode: 'container', container: { rootfs, containerEnv: { FROM_TAU: 'tau' } } } },
      })
      try {
        const session = kernel.createSession({ cwd: p.dir })
        const env = session.resolve(environmentRef)
        expect(env.kind).toBe('container')
        const r = await env.exec(probe)
        expect(r.stderr).toBe('')
        const base = p.dir.split('/').pop()
        expect(r.stdout).toBe(
          `tau test container\n1234\ntau dc r ${base}\nhost data\ncreated\ndata-read-only\n`,
        )
        // Once per container: a second command does not run it again.
        await writeFile(join(p.dir, 'post-created.txt'), 'edited\n')
        await env.exec('true')
        expect(readFileSync(join(p.dir, 'post-created.txt'), 'utf8')).toBe('edited\n')
        await session.dispose()
      } finally {
        await kernel.stop()
      }
    })

    it('holds the mounts and postCreateCommand of an untrusted project, and says so', async () => {
      const p = await project(DEVCONTAINER)
      const kernel = await createTestKernel({
        plugins: [sandbox],
        cwd: p.dir,
        tauHome: p.tauHome,
        config: { sandbox: { mode: 'container', container: { rootfs } } },
      })
      try {
        const warnings = kernel.logs.filter((l) => l.level === 'warn').map((l) => l.message)
        expect(warnings.join('\n')).toContain('postCreateCommand of .devcontainer/devcontainer.json')
        expect(warnings.join('\n')).toContain('container mounts of .devcontainer/devcontainer.json (/data)')
        const session = kernel.createSession({ cwd: p.dir })
        const r = await session.resolve(environmentRef).exec(probe)
        expect(r.stdout).toContain('tau test container\n1234\n')
        expect(r.stdout).toContain('/data/data.txt: No such file')
        expect(existsSync(join(p.dir, 'post-created.txt'))).toBe(false)
        await session.dispose()
      } finally {
        await kernel.stop()
      }
    })

    it.each([
      ['runArgs', '{ "image": "x", "runArgs": ["--privileged"] }', 'runArgs: not supported'],
      [
        'a build without its Dockerfile',
        '{ "build": { "dockerfile": "Dockerfile" } }',
        "build.dockerfile: 'Dockerfile' does not exist",
      ],
      ['localEnv', `{ "containerEnv": { "T": "${LOCAL_ENV}" } }`, `containerEnv.T: ${LOCAL_ENV}`],
      [
        'a volume',
        '{ "mounts": ["source=v,target=/v,type=volume"] }',
        "mounts[0]: type 'volume' is not supported",
      ],
      ['bad JSON', '{ "image": ', '(file): is not JSON with comments'],
    ])(
      'refuses %s at start with TAU_SANDBOX_CONTAINER naming file and field',
      async (_name, json, message) => {
        const p = await project(json)
        await expect(
          createTestKernel({
            plugins: [sandbox],
            cwd: p.dir,
            tauHome: p.tauHome,
            config: { sandbox: { mode: 'container', container: { rootfs } } },
          }),
        ).rejects.toMatchObject({
          code: 'TAU_SANDBOX_CONTAINER',
          plugin: 'sandbox',
          message: expect.stringContaining(`.devcontainer/devcontainer.json: ${message}`),
        })
      },
    )

    it('refuses a mount of a credentials directory, and a container with nothing to run it from', async () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-mode-project-')))
      const tauHome = mkdtempSync(join(tmpdir(), 'tau-mode-home-'))
      await expect(
        createTestKernel({
          plugins: [sandbox],
          cwd: dir,
          tauHome,
          config: {
            sandbox: {
              mode: 'container',
              container: { rootfs, mounts: [{ source: tauHome, target: '/state' }] },
            },
          },
        }),
      ).rejects.toMatchObject({
        code: 'TAU_SANDBOX_CONTAINER',
        message: expect.stringContaining('sandbox.container.mounts[0].source'),
      })
      await expect(
        createTestKernel({
          plugins: [sandbox],
          cwd: dir,
          tauHome,
          config: { sandbox: { mode: 'container' } },
        }),
      ).rejects.toMatchObject({
        code: 'TAU_SANDBOX_CONTAINER',
        message: expect.stringContaining('nothing says what the container is'),
      })
      await expect(
        createTestKernel({
          plugins: [sandbox],
          cwd: dir,
          tauHome,
          config: { sandbox: { mode: 'container', container: { rootfs: dir } } },
        }),
      ).rejects.toMatchObject({
        code: 'TAU_SANDBOX_CONTAINER',
        message: expect.stringContaining('has no /bin/sh'),
      })
    })

    it('refuses a network allowlist in a rootfs without socat, naming what to add', async () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-mode-project-')))
      made.push(dir)
      await mkdir(join(dir, 'bin'))
      await writeFile(join(dir, 'bin', 'sh'), '')
      expect(
        () =>
          new ContainerEnvironment({
            cwd: dir,
            tauHome: join(dir, 'home'),
            runtime: new BwrapRootfsRuntime(),
            spec: { rootfs: dir, containerEnv: {}, mounts: [] },
            policy: {
              filesystem: { allowWrite: [], denyWrite: [], denyRead: [] },
              network: { mode: 'allowlist', allowedDomains: ['a.test'], deniedDomains: [] },
            },
          }),
      ).toThrow(
        expect.objectContaining({
          code: 'TAU_SANDBOX_CONTAINER',
          message: expect.stringContaining('needs socat inside the container'),
        }),
      )
      // The test rootfs has socat: the same policy makes an environment that reports the allowlist.
      const env = new ContainerEnvironment({
        cwd: dir,
        tauHome: join(dir, 'home'),
        runtime: new BwrapRootfsRuntime(),
        spec: { rootfs, containerEnv: {}, mounts: [] },
        policy: {
          filesystem: { allowWrite: [], denyWrite: [], denyRead: [] },
          network: { mode: 'allowlist', allowedDomains: ['a.test'], deniedDomains: [] },
        },
      })
      expect(env.capabilities.network).toBe('allowlist')
      await env.dispose()
    })

    it('gives one session of a kernel a container by its own settings', async () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-mode-project-')))
      const kernel = await createTestKernel({
        plugins: [sandbox],
        cwd: dir,
        config: { sandbox: { mode: 'off' } },
      })
      try {
        const boxed = kernel.createSession({
          cwd: dir,
          settings: { sandbox: { mode: 'container', container: { rootfs } } },
        })
        const open = kernel.createSession({ cwd: dir })
        expect((await boxed.resolve(environmentRef).exec(`cat ${ROOTFS_MARKER}`)).stdout).toBe(
          'tau test container\n',
        )
        expect((await open.resolve(environmentRef).exec(`cat ${ROOTFS_MARKER}`)).exitCode).not.toBe(0)
        await Promise.all([boxed.dispose(), open.dispose()])
      } finally {
        await kernel.stop()
      }
    })
  },
)
