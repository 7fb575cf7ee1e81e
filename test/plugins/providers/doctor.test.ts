import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { cliCommandsRef, definePlugin } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import providerScripted from '../../../plugins/provider-scripted/index.js'
import providers, { type Provider, providerRegistryRef } from '../../../plugins/providers/index.js'

/** A provider whose checks are given, to see how `tau doctor` reports them. */
function checked(name: string, ok: boolean): Provider {
  return {
    name,
    async *stream() {},
    async check(model) {
      return [
        { name: 'reachable', ok: true, detail: 'http://127.0.0.1:1' },
        { name: 'model', ok, detail: ok ? `${model} is present` : `${model} is missing: pull it` },
      ]
    },
  }
}

async function doctor(extra: Provider[], json = false, model = 'local:qwen3:8b') {
  const kernel = await createTestKernel({
    plugins: [
      providers,
      providerScripted,
      definePlugin({
        name: 'extra-providers',
        dependsOn: ['providers'],
        setup(ctx) {
          for (const provider of extra) ctx.resolve(providerRegistryRef).register(provider, ctx.name)
        },
      }),
    ],
    config: { model },
  })
  const command = kernel.resolve(cliCommandsRef).find((c) => c.name === 'doctor')!
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (chunk) => {
    out += chunk
  })
  const code = await command.run({
    args: [],
    options: json ? { json: true } : {},
    stdout,
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    signal: new AbortController().signal,
  })
  await kernel.stop()
  return { code, out }
}

describe('tau doctor', () => {
  it('checks a provider that is not set up when the configured model uses it', async () => {
    const { code, out } = await doctor([checked('local', true)], false, 'scripted:demo')
    expect(code).toBe(0)
    expect(out).toContain('ok   scripted   configured   no checks for this provider')
  })

  it('prints one line per check and exits 0 when all pass', async () => {
    const { code, out } = await doctor([checked('local', true)])
    expect(code).toBe(0)
    const lines = out.split('\n').filter(Boolean)
    expect(lines.filter((line) => !line.includes(' sandbox '))).toEqual([
      'skip scripted   configured   not set up (skipped)',
      'ok   local      reachable    http://127.0.0.1:1',
      'ok   local      model        qwen3:8b is present',
    ])
    // Then where tool processes run (plugins/sandbox's report; tested there).
    expect(lines.slice(3).map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'ok sandbox bwrap',
      'ok sandbox die-with-tau',
    ])
  })

  it('exits non-zero when a check fails, and --json says which', async () => {
    const { code, out } = await doctor([checked('local', false)], true)
    expect(code).toBe(1)
    const report = JSON.parse(out)
    expect(report.ok).toBe(false)
    expect(report.providers[1]).toEqual({
      provider: 'local',
      skipped: false,
      checks: [
        { name: 'reachable', ok: true, detail: 'http://127.0.0.1:1' },
        { name: 'model', ok: false, detail: 'qwen3:8b is missing: pull it' },
      ],
    })
  })
})
