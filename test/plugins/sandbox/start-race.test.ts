/**
 * A tau killed (SIGKILL) while a command is starting leaves nothing of it running. The death
 * signals that end a command with tau (setpriv's --pdeathsig, bwrap's --die-with-parent) are
 * armed by prctl after tau has started the process; a tau that dies before the prctl sends none,
 * so the launchers check that tau is still there once armed (launcher.ts). Two tests a backend:
 * a loop of starts each killed at another point (conditions seen in /proc, never a sleep), and
 * the window held open: a wrapper around setpriv or bwrap that waits until tau is dead.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chmodSync, closeSync, constants as fsConstants, openSync, readFileSync, writeSync } from 'node:fs'
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bwrapStatus } from '../../../plugins/sandbox/bwrap.js'
import { pdeathsigLauncher } from '../../../plugins/sandbox/launcher.js'
import { pidsWith, until } from './contract.js'
import { buildRootfs } from './rootfs.js'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'start-commands.mjs')
const token = () => `${1000 + Math.floor(Math.random() * 8000)}.${Math.floor(Math.random() * 1e6)}`

/** The first word of each live process's command line that names the token. */
function commandsWith(t: string): string[] {
  return pidsWith(t).map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '?'
    } catch {
      return '(gone)'
    }
  })
}

/** Whatever is left of a failed case, killed so that it does not outlive the test either. */
function killLeftovers(t: string): void {
  for (const pid of pidsWith(t)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

const bwrap = bwrapStatus().available ? bwrapStatus().path : undefined
const backends: Array<{ kind: 'local' | 'bwrap' | 'container'; binary: string | null | undefined }> = [
  { kind: 'local', binary: pdeathsigLauncher() },
  { kind: 'bwrap', binary: bwrap },
  // The rootfs container runtime: bwrap over a root filesystem built from the host's binaries.
  { kind: 'container', binary: bwrap },
]

for (const { kind, binary } of backends) {
  describe.runIf(binary)(`a tau killed while ${kind} commands start`, () => {
    let dir: string
    // The fixture finds the container's rootfs in its environment.
    const env = { ...process.env }
    beforeAll(async () => {
      if (kind === 'container')
        env.TAU_TEST_ROOTFS = buildRootfs(await mkdtemp(join(tmpdir(), 'tau-start-race-rootfs-')))
    })
    afterAll(async () => {
      if (env.TAU_TEST_ROOTFS) await rm(env.TAU_TEST_ROOTFS, { recursive: true, force: true })
    })
    beforeEach(async () => {
      dir = await realpath(await mkdtemp(join(tmpdir(), 'tau-start-race-')))
    })
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('leaves none of them running, wherever in the start it dies', async () => {
      const rounds = 8
      for (let round = 0; round < rounds; round++) {
        const t = token()
        const tau = spawn(process.execPath, [FIXTURE, kind, dir, t, '3'], {
          stdio: ['ignore', 'ignore', 'inherit'],
          env,
        })
        try {
          // Where to kill: as soon as a process of the start exists; a few looks later; once
          // the launcher or the sandbox has a child; once a command runs.
          const stage = round % 4
          const seen = (n: number) => pidsWith(t).length >= n
          const sleeping = () => commandsWith(t).includes('sleep')
          const deadline = Date.now() + 20_000
          const ready = stage === 0 || stage === 1 ? () => seen(1) : stage === 2 ? () => seen(2) : sleeping
          while (!ready() && Date.now() < deadline && tau.exitCode === null) await tick()
          for (let look = 0; stage === 1 && look <= round; look++) {
            pidsWith(t)
            await tick()
          }
          expect(tau.exitCode, 'the stand-in for tau exited by itself').toBeNull()
          tau.kill('SIGKILL')
          await exited(tau)
          await until(
            `every process of round ${round} (stage ${stage}) to be gone`,
            () => pidsWith(t).length === 0,
          )
        } catch (error) {
          const left = commandsWith(t)
          killLeftovers(t)
          throw new Error(
            `round ${round}: ${(error as Error).message}; left running: ${left.join(', ') || 'none'}`,
          )
        } finally {
          tau.kill('SIGKILL')
        }
      }
    })

    it(`runs nothing when tau died before ${kind === 'local' ? "setpriv's" : "bwrap's"} death signal was armed`, async () => {
      const t = token()
      // The wrapper blocks on a FIFO, which the test writes only once tau is dead: then the real
      // binary arms its death signal with init (or a subreaper) as its parent, which never dies.
      const fifo = join(dir, 'hold')
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
      const wrapper = join(dir, `held-${kind}`)
      await writeFile(wrapper, `#!/bin/sh\nread _ < '${fifo}'\nexec '${binary}' "$@"\n`)
      chmodSync(wrapper, 0o755)
      const tau = spawn(process.execPath, [FIXTURE, kind, dir, t, '1', wrapper], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env,
      })
      try {
        await until('the held start', () => commandsWith(t).includes('/bin/sh'))
        tau.kill('SIGKILL')
        await exited(tau)
        // Open without blocking: ENXIO until the wrapper has opened its end.
        let fd: number | undefined
        await until('the wrapper to read its FIFO', () => {
          try {
            fd = openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)
            return true
          } catch {
            return false
          }
        })
        writeSync(fd as number, '\n')
        closeSync(fd as number)
        await until('the released start to end without running its command', () => pidsWith(t).length === 0)
      } catch (error) {
        const left = commandsWith(t)
        killLeftovers(t)
        throw new Error(`${(error as Error).message}; left running: ${left.join(', ') || 'none'}`)
      } finally {
        tau.kill('SIGKILL')
      }
    })
  })
}
