/**
 * The docker/podman CLI adapter. No container engine runs on this machine (no daemon), so the
 * CLI is a stand-in script: it logs each invocation, answers `run -d` with an id, and for `exec`
 * drops docker's options and runs the command itself (on the host, with the environment exec got),
 * so what the adapter asks of the CLI and what a command sees can both be checked. With a real
 * engine the same adapter runs `docker` itself.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestKernel } from 'tau-agent/testing'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ContainerEnvironment } from '../../../plugins/sandbox/container.js'
import { DockerCliRuntime } from '../../../plugins/sandbox/container-docker.js'
import sandbox, { environmentRef } from '../../../plugins/sandbox/index.js'
import { setTrust } from '../../../plugins/trust/index.js'

const FAKE_DOCKER = `#!/bin/sh
printf '%s\\n' "$*" >> "$(dirname "$0")/log"
case "$1" in
  run) echo 0123456789abcdef0123 ;;
  build)
    if [ -e "$(dirname "$0")/build-fails" ]; then
      echo 'ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1' >&2
      exit 1
    fi
    printf 'NODE_VERSION=%s\n' "$NODE_VERSION" >> "$(dirname "$0")/build-env"
    echo sha256:0123456789abcdef ;;
  ps) cat "$(dirname "$0")/ps" 2>/dev/null ;;
  rm) ;;
  exec)
    shift
    while [ $# -gt 0 ]; do
      case "$1" in
        -i) shift ;;
        -w) cd "$2"; shift 2 ;;
        -u|-e) shift 2 ;;
        *) shift; break ;;
      esac
    done
    exec "$@" ;;
esac
`

let dir: string
let bin: string
let log: string
beforeEach(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-docker-ws-')))
  bin = realpathSync(mkdtempSync(join(tmpdir(), 'tau-docker-bin-')))
  log = join(bin, 'log')
  writeFileSync(join(bin, 'docker'), FAKE_DOCKER)
  chmodSync(join(bin, 'docker'), 0o755)
  writeFileSync(log, '')
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(bin, { recursive: true, force: true })
})

describe('the docker CLI runtime', () => {
  it('creates one container per session, execs each command in it, and removes it at dispose', async () => {
    await mkdir(join(dir, 'locked'))
    const env = new ContainerEnvironment({
      cwd: dir,
      tauHome: join(bin, 'home'),
      parentEnv: { PATH: process.env.PATH, SECRET_TOKEN: 'hidden' },
      policy: {
        filesystem: { allowWrite: [], denyWrite: ['locked'], denyRead: [] },
        network: { mode: 'none', allowedDomains: [], deniedDomains: [] },
      },
      runtime: new DockerCliRuntime(join(bin, 'docker')),
      spec: { image: 'node:22', containerEnv: { IN_CONTAINER: 'yes' }, mounts: [], user: 'node' },
    })
    expect(env.capabilities).toMatchObject({ filesystemIsolation: true, network: 'none', filesOnHost: true })
    const first = await env.exec('echo "$IN_CONTAINER $SECRET_TOKEN"; pwd')
    const second = await env.exec(['printf', '%s', 'argv'])
    expect(first.stdout).toBe(`yes \n${dir}\n`)
    expect(second.stdout).toBe('argv')
    await env.dispose()
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    expect(lines.filter((l) => l.startsWith('run '))).toEqual([
      `run -d --init --label tau.session=1 --label tau.pid=${process.pid} --label tau.host=${hostname()} --network none -v ${dir}:${dir} -v ${dir}/locked:${dir}/locked:ro -u node node:22 sleep infinity`,
    ])
    const execs = lines.filter((l) => l.startsWith('exec '))
    expect(execs).toHaveLength(2)
    expect(execs[0]).toMatch(
      new RegExp(`^exec -i -w ${dir} -u node (-e [A-Z_]+ )+0123456789abcdef0123 /bin/sh -c `),
    )
    // Variables by name only: no value is in the CLI's argv.
    expect(execs[0]).toContain('-e IN_CONTAINER')
    expect(execs.join('\n')).not.toContain('yes')
    expect(lines.at(-1)).toBe('rm -f 0123456789abcdef0123')
  })

  it('says which image failed when the engine cannot start the container', async () => {
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\necho "Unable to find image nope:1" >&2\nexit 125\n')
    const env = new ContainerEnvironment({
      cwd: dir,
      tauHome: join(bin, 'home'),
      runtime: new DockerCliRuntime(join(bin, 'docker')),
      spec: { image: 'nope:1', containerEnv: {}, mounts: [] },
    })
    await expect(env.exec('true')).rejects.toMatchObject({
      code: 'TAU_SANDBOX_CONTAINER',
      message: expect.stringMatching(
        /docker could not start a container from 'nope:1': Unable to find image nope:1/,
      ),
    })
    await env.dispose()
  })

  it('removes the containers a killed tau left on this host before its first one, and no others', async () => {
    // A pid that is surely gone: a process that has exited and been reaped.
    const dead = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim()
    const host = hostname()
    writeFileSync(
      join(bin, 'ps'),
      [
        `aaaaaaaaaaaa ${dead} ${host}`,
        `bbbbbbbbbbbb ${process.pid} ${host}`,
        `cccccccccccc 1 ${host}`,
        `dddddddddddd ${dead} some-other-host`,
        'not-an-id 1 x',
        '',
      ].join('\n'),
    )
    const runtime = new DockerCliRuntime(join(bin, 'docker'))
    const env = new ContainerEnvironment({
      cwd: dir,
      tauHome: join(bin, 'home'),
      runtime,
      spec: { image: 'node:22', containerEnv: {}, mounts: [] },
    })
    expect((await env.exec('echo hi')).stdout).toBe('hi\n')
    await env.dispose()
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    expect(lines[0]).toBe(
      'ps -a --filter label=tau.session=1 --format {{.ID}} {{.Label "tau.pid"}} {{.Label "tau.host"}}',
    )
    expect(lines[1]).toBe('rm -f aaaaaaaaaaaa')
    expect(lines[2]).toMatch(/^run -d /)
    expect(lines.filter((l) => l.startsWith('rm ')).sort()).toEqual([
      'rm -f 0123456789abcdef0123',
      'rm -f aaaaaaaaaaaa',
    ])
    // Once per runtime: a second session does not list again.
    expect(await runtime.removeLeftovers()).toEqual(['aaaaaaaaaaaa'])
    expect(readFileSync(log, 'utf8').match(/^ps /gm)).toHaveLength(1)
  })

  it("builds a devcontainer's Dockerfile once per runtime, argument values in the engine's environment, and runs the image", async () => {
    await mkdir(join(dir, '.devcontainer'))
    const dockerfile = join(dir, '.devcontainer', 'Dockerfile')
    writeFileSync(dockerfile, 'FROM node:22\nARG NODE_VERSION\n')
    const runtime = new DockerCliRuntime(join(bin, 'docker'))
    const build = {
      dockerfile,
      context: dir,
      args: { NODE_VERSION: '22.11-secretish' },
      target: 'dev',
      source: '.devcontainer/devcontainer.json',
    }
    const tag = runtime.buildTag(build)
    expect(tag).toMatch(/^tau-devcontainer:[0-9a-f]{16}$/)
    for (let i = 0; i < 2; i++) {
      const env = new ContainerEnvironment({
        cwd: dir,
        tauHome: join(bin, 'home'),
        runtime,
        spec: { build, containerEnv: {}, mounts: [] },
      })
      expect((await env.exec('echo in')).stdout).toBe('in\n')
      await env.dispose()
    }
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    expect(lines.filter((l) => l.startsWith('build '))).toEqual([
      `build -q -f ${dockerfile} -t ${tag} --label tau.build=1 --build-arg NODE_VERSION --target dev ${dir}`,
    ])
    const runs = lines.filter((l) => l.startsWith('run '))
    expect(runs).toHaveLength(2)
    for (const line of runs) expect(line.endsWith(` ${tag} sleep infinity`)).toBe(true)
    expect(lines.findIndex((l) => l.startsWith('build '))).toBeLessThan(
      lines.findIndex((l) => l.startsWith('run ')),
    )
    // The value reached the engine by its environment, never its argv.
    expect(readFileSync(join(bin, 'build-env'), 'utf8')).toBe('NODE_VERSION=22.11-secretish\n')
    expect(lines.join('\n')).not.toContain('secretish')
    // A changed Dockerfile is another image.
    writeFileSync(dockerfile, 'FROM node:24\n')
    expect(runtime.buildTag(build)).not.toBe(tag)
  })

  it('says which file and what the engine said when the build fails, and builds again next time', async () => {
    const dockerfile = join(dir, 'Dockerfile')
    writeFileSync(dockerfile, 'FROM node:22\nRUN false\n')
    writeFileSync(join(bin, 'build-fails'), '')
    const runtime = new DockerCliRuntime(join(bin, 'docker'))
    const spec = {
      build: { dockerfile, context: dir, args: {}, source: '.devcontainer.json' },
      containerEnv: {},
      mounts: [],
    }
    const failing = new ContainerEnvironment({ cwd: dir, tauHome: join(bin, 'home'), runtime, spec })
    await expect(failing.exec('true')).rejects.toMatchObject({
      code: 'TAU_SANDBOX_CONTAINER',
      message: expect.stringContaining(
        `.devcontainer.json: build: docker could not build the image from ${dockerfile}: ERROR: process "/bin/sh -c false" did not complete successfully`,
      ),
    })
    await failing.dispose()
    expect(readFileSync(log, 'utf8')).not.toMatch(/^run /m)
    rmSync(join(bin, 'build-fails'))
    const fixed = new ContainerEnvironment({ cwd: dir, tauHome: join(bin, 'home'), runtime, spec })
    expect((await fixed.exec('echo built')).stdout).toBe('built\n')
    await fixed.dispose()
    expect(readFileSync(log, 'utf8').match(/^build /gm)).toHaveLength(2)
  })

  it('refuses a network allowlist with a catalogue error', () => {
    expect(
      () =>
        new ContainerEnvironment({
          cwd: dir,
          tauHome: join(bin, 'home'),
          policy: {
            filesystem: { allowWrite: [], denyWrite: [], denyRead: [] },
            network: { mode: 'allowlist', allowedDomains: ['example.com'], deniedDomains: [] },
          },
          runtime: new DockerCliRuntime(join(bin, 'docker')),
          spec: { image: 'node:22', containerEnv: {}, mounts: [] },
        }),
    ).toThrow(expect.objectContaining({ code: 'TAU_SANDBOX_CONTAINER', plugin: 'sandbox' }))
  })

  describe("sandbox.mode container with a devcontainer.json's build, docker on PATH", () => {
    // vitest.config.ts trusts every test project (TAU_TRUST=1): here trust is what is tested.
    beforeEach(() => {
      vi.stubEnv('TAU_TRUST', '0')
      vi.stubEnv('PATH', `${bin}:${process.env.PATH}`)
    })
    afterEach(() => {
      vi.unstubAllEnvs()
    })
    const project = async () => {
      await mkdir(join(dir, '.devcontainer'))
      writeFileSync(join(dir, '.devcontainer', 'Dockerfile'), 'FROM debian:12\nRUN echo project code\n')
      writeFileSync(
        join(dir, '.devcontainer', 'devcontainer.json'),
        '{ "build": { "dockerfile": "Dockerfile", "context": ".." }, // built by docker\n}',
      )
      return {
        tauHome: join(bin, 'home'),
        config: { sandbox: { mode: 'container', container: { runtime: 'docker' } } },
      }
    }

    it('builds nothing for an untrusted workspace: says so at start, and a session is refused naming the file', async () => {
      const p = await project()
      const kernel = await createTestKernel({
        plugins: [sandbox],
        cwd: dir,
        tauHome: p.tauHome,
        config: p.config,
      })
      try {
        const warnings = kernel.logs.filter((l) => l.level === 'warn').map((l) => l.message)
        expect(warnings.join('\n')).toContain(
          'the image build of .devcontainer/devcontainer.json (.devcontainer/Dockerfile)',
        )
        const session = kernel.createSession({ cwd: dir })
        expect(() => session.resolve(environmentRef)).toThrow(
          expect.objectContaining({
            code: 'TAU_SANDBOX_CONTAINER',
            message: expect.stringContaining(
              ".devcontainer/devcontainer.json: build: the container's image is built from .devcontainer/Dockerfile, and building runs its commands, so it waits until the workspace is trusted",
            ),
          }),
        )
        await session.dispose()
      } finally {
        await kernel.stop()
      }
      expect(readFileSync(log, 'utf8')).not.toMatch(/^(build|run) /m)
    })

    it('builds the image of a trusted workspace and runs its commands in it', async () => {
      const p = await project()
      await setTrust(p.tauHome, dir, true)
      const kernel = await createTestKernel({
        plugins: [sandbox],
        cwd: dir,
        tauHome: p.tauHome,
        config: p.config,
      })
      try {
        const session = kernel.createSession({ cwd: dir })
        expect((await session.resolve(environmentRef).exec('echo inside')).stdout).toBe('inside\n')
        await session.dispose()
      } finally {
        await kernel.stop()
      }
      const lines = readFileSync(log, 'utf8').trim().split('\n')
      const build = lines.find((l) => l.startsWith('build '))
      expect(build).toMatch(
        new RegExp(
          `^build -q -f ${dir}/\\.devcontainer/Dockerfile -t (tau-devcontainer:[0-9a-f]{16}) --label tau\\.build=1 ${dir}$`,
        ),
      )
      const tag = build?.split(' ')[5]
      expect(lines.find((l) => l.startsWith('run '))).toMatch(new RegExp(` ${tag} sleep infinity$`))
    })
  })
})
