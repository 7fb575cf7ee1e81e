/**
 * A pseudo-terminal from spawn({ pty: true }), for local and bwrap: the process sees a tty on
 * stdin and stdout, reads what is written to the handle, and its exit code comes back. Without
 * pty the same command sees none. util-linux script is required where CI runs (it is part of
 * Debian's base system, like bwrap's .ci/run install).
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BwrapEnvironment, bwrapStatus } from '../../../plugins/sandbox/bwrap.js'
import type { Environment } from '../../../plugins/sandbox/environment.js'
import { LocalEnvironment, ptyAvailable } from '../../../plugins/sandbox/local.js'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-pty-')))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const options = { cwd: dir, tauHome: join(dir, '.no-tau-home') }

const backends: Array<[string, () => Environment]> = [['local', () => new LocalEnvironment(options)]]
if (bwrapStatus().available || process.env.CI === 'true')
  backends.push(['bwrap', () => new BwrapEnvironment(options)])

describe.runIf(ptyAvailable() || process.env.CI === 'true')('spawn() with a pty', () => {
  describe.each(backends)('%s', (_name, make) => {
    it('gives the process a terminal on stdin and stdout; without pty it has none', async () => {
      const env = make()
      try {
        expect(env.capabilities.pty).toBe(true)
        const probe = 'tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; exit 3'
        const withPty = await env.spawn(probe, { pty: true }).wait()
        expect(withPty.stdout).toMatch(/^\/dev\/pts\/\d+\r\nstdin-tty\r\nstdout-tty\r\n$/)
        expect(withPty.exitCode).toBe(3)
        const without = await env.spawn(probe).wait()
        expect(without.stdout).toBe('not a tty\n')
      } finally {
        await env.dispose()
      }
    })

    it('passes what is written to the handle through the terminal, argv form too', async () => {
      const env = make()
      try {
        const handle = env.spawn(['sh', '-c', 'read line; echo "got:$line"'], { pty: true })
        handle.write('hello there\n')
        const result = await handle.wait()
        // The terminal echoes the input line, then the command's own output.
        expect(result.stdout).toContain('got:hello there\r\n')
        expect(result.exitCode).toBe(0)
      } finally {
        await env.dispose()
      }
    })
  })
})
