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
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ContainerEnvironment } from '../../../plugins/sandbox/container.js'
import { DockerCliRuntime } from '../../../plugins/sandbox/container-docker.js'

const FAKE_DOCKER = `#!/bin/sh
printf '%s\\n' "$*" >> "$(dirname "$0")/log"
case "$1" in
  run) echo 0123456789abcdef0123 ;;
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
})
