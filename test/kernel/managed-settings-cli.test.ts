/**
 * The managed (policy) settings through the CLI's main, in-process: `tau config` lists them
 * first, a malformed one is an error naming it, and a policy's disableBypassPermissionsMode
 * refuses --dangerously-skip-permissions, a malformed managed-mcp.json stops the start. The policy
 * folder is the one TAU_MANAGED_SETTINGS_DIR names in the env runCli is given (never process.env's,
 * which vitest.config.ts points at a folder that does not exist): that keeps the machine's /etc out.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { builtinPresets, DEFAULT_PRESET } from '../../presets/index.js'
import { cliRunner } from './cli-runner.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-managed-cli-'))
  // A model nobody answers: the runs below stop before any model call.
  await writeFile(join(dir, 'tau.config.json'), JSON.stringify({ model: 'ollama:nothing' }))
  vi.stubEnv('OLLAMA_HOST', 'http://127.0.0.1:9')
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await rm(dir, { recursive: true, force: true })
})

async function policy(path: string, text: string): Promise<string> {
  const file = join(dir, 'etc', path)
  await mkdir(join(file, '..'), { recursive: true })
  await writeFile(file, text)
  return file
}

// The policy folder is dir/etc (the helper names it as TAU_MANAGED_SETTINGS_DIR).
const cli = cliRunner({
  dir: () => dir,
  presets: builtinPresets,
  defaultPreset: DEFAULT_PRESET,
  managedDir: 'etc',
})

describe('managed settings through the CLI', () => {
  it('tau config lists the managed files first, drop-ins above their base file', async () => {
    const dropIn = await policy('claude-code/managed-settings.d/10-team.json', '{}')
    const { code, out } = await cli('config')
    expect(code).toBe(0)
    const layers = out
      .split('\n')
      .filter((line) => /^# {3}\S/.test(line))
      .map((line) => line.slice(4))
    expect(layers.slice(0, 4)).toEqual([
      `${join(dir, 'etc', 'tau', 'managed-settings.json')} (managed, not found)`,
      `${dropIn} (managed)`,
      `${join(dir, 'etc', 'claude-code', 'managed-settings.json')} (managed, not found)`,
      `${join(dir, '.tau', 'settings.local.json')} (local, not found)`,
    ])
  })

  it('a malformed managed file is an error naming the file', async () => {
    const file = await policy('tau/managed-settings.json', '{ "permissions": [1, }')
    const { code, err } = await cli('config')
    expect(code).toBe(1)
    expect(err).toContain(`settings file ${file} is not valid JSON: line 1`)
    expect(err).not.toMatch(/\n\s+at /)
  })

  it('--dangerously-skip-permissions stops with the policy that forbids it, even with --setting-sources', async () => {
    const file = await policy(
      'claude-code/managed-settings.json',
      JSON.stringify({ permissions: { disableBypassPermissionsMode: 'disable' } }),
    )
    const { code, err } = await cli(
      'start',
      '-p',
      'hi',
      '--dangerously-skip-permissions',
      '--setting-sources',
      'user',
    )
    expect(code).toBe(1)
    expect(err).toContain('bypassPermissions mode (--dangerously-skip-permissions) is forbidden by policy')
    expect(err).toContain(file)
    expect(err).not.toMatch(/\n\s+at /)
  })

  it("reads the policy folder of the env runCli is given, not the process's", async () => {
    const mine = await policy('tau/managed-settings.json', '{}')
    // The process's own policy folder holds a malformed file: read, it would stop the command.
    const machine = join(dir, 'machine')
    await mkdir(join(machine, 'tau'), { recursive: true })
    await writeFile(join(machine, 'tau', 'managed-settings.json'), '{ not json')
    vi.stubEnv('TAU_MANAGED_SETTINGS_DIR', machine)
    const { code, out, err } = await cli('config')
    expect(code, err).toBe(0)
    expect(out).toContain(`${mine} (managed)`)
    expect(out).not.toContain(machine)
  })

  it('a malformed managed-mcp.json of that folder stops the start, naming the file', async () => {
    const file = await policy('claude-code/managed-mcp.json', '{ "mcpServers": [1, }')
    const { code, err } = await cli('start', '-p', 'hi')
    expect(code).toBe(1)
    expect(err).toContain(file)
    expect(err).not.toMatch(/\n\s+at /)
  })
})
