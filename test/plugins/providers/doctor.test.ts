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

async function doctor(
  extra: Provider[],
  json = false,
  model: string | null = 'local:qwen3:8b',
  options: Record<string, unknown> = {},
) {
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
    // null: no model in config.
    config: model === null ? {} : { model },
  })
  const command = kernel.resolve(cliCommandsRef).find((c) => c.name === 'doctor')!
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (chunk) => {
    out += chunk
  })
  const code = await command.run({
    args: [],
    options: { ...options, ...(json ? { json: true } : {}) },
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
      'ok   model      ref          local:qwen3:8b',
      'skip scripted   configured   not set up, so not checked',
      'ok   local      reachable    http://127.0.0.1:1',
      'ok   local      model        qwen3:8b is present',
    ])
    // Then where tool processes run (plugins/sandbox's report; tested there).
    expect(lines.slice(4).map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual([
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

  it('with no model configured says so and how to set one, checks the rest, and exits 1', async () => {
    const { code, out } = await doctor([checked('local', true)], false, null)
    expect(code).toBe(1)
    const lines = out.split('\n').filter(Boolean)
    expect(lines[0]).toBe(
      'FAIL model      configured   no model configured: set `model` in tau.config.ts (`tau init` writes one), or pass --model REF, e.g. --model ollama:qwen3:8b or --model openai:gpt-4o',
    )
    // The providers are still checked (local is set up here).
    expect(lines).toContain('ok   local      reachable    http://127.0.0.1:1')
  })

  it('--model checks that model instead of the config one', async () => {
    const { code, out } = await doctor([checked('local', true)], true, null, { model: 'local:llama3.2' })
    expect(code).toBe(0)
    const report = JSON.parse(out)
    expect(report.model).toEqual({ name: 'ref', ok: true, detail: 'local:llama3.2' })
    expect(report.providers[1].checks[1]).toEqual({ name: 'model', ok: true, detail: 'llama3.2 is present' })
  })

  it('--model with an unknown provider names the loaded ones; one without a provider suggests it', async () => {
    const unknown = JSON.parse((await doctor([], true, null, { model: 'foo:bar' })).out)
    expect(unknown.model).toEqual({
      name: 'ref',
      ok: false,
      detail: "no provider named 'foo' (in 'foo:bar'); loaded providers: scripted",
    })
    const bare = JSON.parse((await doctor([checked('openai', true)], true, null, { model: 'gpt-4o' })).out)
    expect(bare.ok).toBe(false)
    expect(bare.model.detail).toMatch(/'gpt-4o' is not a model ref.*did you mean 'openai:gpt-4o'\?$/)
  })
})
