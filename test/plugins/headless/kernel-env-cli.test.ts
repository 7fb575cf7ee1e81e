/**
 * `tau start -p` through the CLI's main, in-process, with an env that is not process.env (what an
 * embedder calling runCli does): the provider's key, the `--model sonnet` alias
 * (ANTHROPIC_DEFAULT_SONNET_MODEL) and TAU_TRUST come from that env, and the project's
 * .claude/settings.json `env` (the provider's base URL) is written into runCli's copy of it: neither
 * that object (an embedder's, left as given) nor process.env (whose values for the same variables
 * point nowhere) is changed. A real scripted Anthropic server on loopback.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { runCli } from '../../../kernel/cli/main.js'
import { startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import { builtinPresets, DEFAULT_PRESET } from '../../../presets/index.js'
import { tempDir } from '../agent/helpers.js'

const DEAD = 'http://127.0.0.1:9'
const KEY = 'sk-ant-of-this-env-0123456789'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  vi.unstubAllEnvs()
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

describe("runCli's env, not process.env", () => {
  it('start -p --model sonnet: the key, the alias and trust from the given env, the base URL from the settings files into a copy of it', async () => {
    vi.stubEnv('ANTHROPIC_BASE_URL', DEAD)
    vi.stubEnv('ANTHROPIC_API_KEY', 'sk-ant-of-the-process')
    vi.stubEnv('ANTHROPIC_DEFAULT_SONNET_MODEL', 'sonnet-of-the-process')
    vi.stubEnv('TAU_TRUST', '0')
    const server = await startScriptedServer({
      format: 'anthropic',
      script: [{ text: 'answer from the env' }],
      models: [{ name: 'sonnet-of-this-env', capabilities: ['completion', 'tools'], contextLength: 32_768 }],
    })
    cleanups.push(() => server.close())
    const d = await tempDir('tau-kernel-env-cli-')
    cleanups.push(() => d.remove())
    await writeFile(join(d.dir, 'tau.config.json'), JSON.stringify({ providers: { retries: { max: 0 } } }))
    await mkdir(join(d.dir, '.claude'))
    // A project file: applied because this env trusts the workspace (process.env does not).
    await writeFile(
      join(d.dir, '.claude', 'settings.json'),
      JSON.stringify({ env: { ANTHROPIC_BASE_URL: server.url } }),
    )
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      TAU_HOME: join(d.dir, '.home'),
      CLAUDE_CONFIG_DIR: join(d.dir, '.claude-home'),
      TAU_MANAGED_SETTINGS_DIR: join(d.dir, '.managed'),
      TAU_TRUST: '1',
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_DEFAULT_SONNET_MODEL: 'sonnet-of-this-env',
    }
    const given = { ...env }
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let out = ''
    let err = ''
    stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    const code = await runCli(['start', '-p', 'hi', '--model', 'sonnet'], {
      presets: builtinPresets,
      defaultPreset: DEFAULT_PRESET,
      cwd: d.dir,
      stdin: Readable.from([]),
      stdout,
      stderr,
      env,
      handleSignals: false,
    })
    expect(code, err).toBe(0)
    expect(out.trim()).toBe('answer from the env')
    const calls = server.requests.filter((r) => r.path.startsWith('/v1/messages'))
    expect(calls).toHaveLength(1)
    expect((calls[0]!.body as { model: string }).model).toBe('sonnet-of-this-env')
    expect(calls[0]!.headers['x-api-key']).toBe(KEY)
    // The settings' variable went into runCli's copy of the env it was given (the one call above
    // reached the server it names), not into that object and not into process.env.
    expect(env.ANTHROPIC_BASE_URL).toBeUndefined()
    expect(env).toEqual(given)
    expect(process.env.ANTHROPIC_BASE_URL).toBe(DEAD)
    expect(err).not.toContain(KEY)
  })
})
