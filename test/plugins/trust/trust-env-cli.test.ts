/**
 * TAU_TRUST through the CLI's main, in-process: the workspace is trusted for a run when the env
 * runCli is given says so, whatever process.env says (an embedder's env decides, as for the
 * policy folder). What trust changes here: a project allow rule (`.tau/settings.json`) counts
 * only in a trusted workspace (`tau permissions explain` says allow, else ask).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { builtinPresets, DEFAULT_PRESET } from '../../../presets/index.js'
import { cliRunner } from '../../kernel/cli-runner.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-trust-env-'))
  // A model nobody answers: nothing below calls it.
  await writeFile(join(dir, 'tau.config.json'), JSON.stringify({ model: 'ollama:nothing' }))
  await mkdir(join(dir, '.tau'))
  await writeFile(
    join(dir, '.tau', 'settings.json'),
    JSON.stringify({ permissions: { allow: ['Bash(ls)'] } }),
  )
  vi.stubEnv('OLLAMA_HOST', 'http://127.0.0.1:9')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const runner = (env: NodeJS.ProcessEnv) =>
  cliRunner({ dir: () => dir, presets: builtinPresets, defaultPreset: DEFAULT_PRESET, env })

describe("TAU_TRUST comes from runCli's env", () => {
  it("untrusted when runCli's env does not say TAU_TRUST=1, though process.env does", async () => {
    vi.stubEnv('TAU_TRUST', '1')
    const { code, out, err } = await runner({})('permissions', 'explain', 'Bash(ls)')
    expect(code, err).toBe(0)
    expect(out).toMatch(/^ask {2}Bash\(ls\)\n/)
    expect(out).not.toContain('settings.json')
  })

  it("trusted when runCli's env says TAU_TRUST=1, though process.env says 0", async () => {
    vi.stubEnv('TAU_TRUST', '0')
    const { code, out, err } = await runner({ TAU_TRUST: '1' })('permissions', 'explain', 'Bash(ls)')
    expect(code, err).toBe(0)
    expect(out).toMatch(/^allow {2}Bash\(ls\)\n/)
    expect(out).toContain(`Bash(ls) (allow) from project settings (${join(dir, '.tau', 'settings.json')})`)
  })
})
