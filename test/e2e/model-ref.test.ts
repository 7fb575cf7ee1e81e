/**
 * The first hour with the real `tau` binary: a model named without its provider, a provider that
 * does not exist, no model at all. Each is reported before any model call, saying where the ref
 * came from (the --model flag, or the config file's field), with the ref meant or the providers
 * loaded; `tau doctor` and `tau config` take --model without writing a file.
 */
import { readdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()

describe('model refs through the binary', () => {
  it('--model gpt-4o suggests openai:gpt-4o, before any model call', async () => {
    const p = await project()
    const result = await p.run(['start', '-p', 'hi', '--model', 'gpt-4o'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain("the session's model (--model): 'gpt-4o' is not a model ref")
    expect(result.stderr).toContain("did you mean 'openai:gpt-4o'?")
    expect(result.stderr).not.toMatch(STACK_LINE)
  })

  it('a bare gpt-4o in a config file suggests openai:gpt-4o, naming the file and the field', async () => {
    const p = await project({ '.taurc.json': JSON.stringify({ model: 'gpt-4o' }) })
    const result = await p.run(['start', '-p', 'hi'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(
      `config \`model\` in ${p.path('.taurc.json')}: 'gpt-4o' is not a model ref`,
    )
    expect(result.stderr).toContain("did you mean 'openai:gpt-4o'?")
    expect(result.stderr).not.toMatch(/model call failed/)
    expect(result.stderr).not.toMatch(STACK_LINE)
  })

  it('an unknown provider in the config names the file, the field and the providers that exist', async () => {
    const p = await project({ '.taurc.json': JSON.stringify({ model: 'foo:bar' }) })
    const result = await p.run(['start', '-p', 'hi', '--output-format', 'json'])
    expect(result.code).toBe(1)
    const out = JSON.parse(result.stdout) as { error: { code: string; message: string } }
    expect(out.error.code).toBe('TAU_PROVIDER_UNKNOWN')
    expect(out.error.message).toContain(`config \`model\` in ${p.path('.taurc.json')}`)
    expect(out.error.message).toMatch(
      /no provider named 'foo' \(in 'foo:bar'\); loaded providers: ollama, openai, .*scripted/,
    )
    expect(out.error.message).not.toMatch(/model call failed/)
  })

  it('tau doctor with no model says so and how to set one; --model checks one without a file', async () => {
    const p = await project()
    const none = await p.run(['doctor'])
    expect(none.code).toBe(1)
    expect(none.stdout).toMatch(
      /^FAIL model {6}configured {3}no model configured: set `model` in tau\.config\.ts/m,
    )
    expect(none.stdout).toMatch(/^skip openai {5}configured {3}not set up, so not checked$/m)
    expect(none.stderr).not.toMatch(STACK_LINE)
    const given = await p.run(['doctor', '--model', 'scripted:demo', '--json'])
    const report = JSON.parse(given.stdout) as { model: unknown }
    expect(report.model).toEqual({ name: 'ref', ok: true, detail: 'scripted:demo' })
    const bare = await p.run(['doctor', '--model', 'gpt-4o'])
    expect(bare.stdout).toContain("did you mean 'openai:gpt-4o'?")
    expect(await readdir(p.dir)).toEqual(['node_modules'])
  })

  it('tau config --model shows the config with that model and writes nothing', async () => {
    const p = await project()
    const result = await p.run(['config', '--json', '--model', 'openai:gpt-4o'])
    expect(result.code).toBe(0)
    expect((JSON.parse(result.stdout) as { model: string }).model).toBe('openai:gpt-4o')
    expect(await readdir(p.dir)).toEqual(['node_modules'])
  })
})
