/**
 * The bubblewrap probe's answer is kept in $TAU_HOME between runs, for this boot and this binary
 * only. Each case imports a fresh copy of the module: the answer is also kept once per process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type * as Bwrap from '../../../plugins/sandbox/bwrap.js'

const fresh = async (): Promise<typeof Bwrap> => {
  vi.resetModules()
  return import('../../../plugins/sandbox/bwrap.js')
}

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const cacheFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tau-bwrap-probe-'))
  dirs.push(dir)
  return join(dir, 'cache', 'bwrap-probe.json')
}

const installed = (await fresh()).bwrapStatus().path !== undefined

// Where bwrap is not installed the probe ends before any cache (CI installs it: .ci/run).
if (installed)
  describe('the bubblewrap probe cache', () => {
    it('writes the probe, keyed by boot id and binary, and reuses it in the next process', async () => {
      const file = cacheFile()
      const probed = (await fresh()).bwrapStatus({ cacheFile: file })
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { key: string; status: unknown }
      expect(saved.status).toEqual(probed)
      expect(saved.key).toContain(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())

      // What the next process reads is the file, not a new probe.
      writeFileSync(file, JSON.stringify({ key: saved.key, status: { available: false, reason: 'kept' } }))
      expect((await fresh()).bwrapStatus({ cacheFile: file })).toEqual({ available: false, reason: 'kept' })
    })

    it('probes again after a reboot or a new binary (the key differs), and when the file is unreadable', async () => {
      const file = cacheFile()
      const probed = (await fresh()).bwrapStatus({ cacheFile: file })
      writeFileSync(
        file,
        JSON.stringify({ key: 'another-boot', status: { available: false, reason: 'stale' } }),
      )
      expect((await fresh()).bwrapStatus({ cacheFile: file })).toEqual(probed)
      writeFileSync(file, '{ not json')
      expect((await fresh()).bwrapStatus({ cacheFile: file })).toEqual(probed)
      expect(JSON.parse(readFileSync(file, 'utf8')).status).toEqual(probed)
    })

    it('without a cache file (tau doctor) always probes', async () => {
      const file = cacheFile()
      const probed = (await fresh()).bwrapStatus({ cacheFile: file })
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { key: string }
      writeFileSync(file, JSON.stringify({ key: saved.key, status: { available: false, reason: 'kept' } }))
      expect((await fresh()).bwrapStatus()).toEqual(probed)
    })
  })
