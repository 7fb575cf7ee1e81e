/**
 * `tau init` with the real binary in fixture projects (npm, pnpm, Python): the config it writes
 * loads (`tau config`), the settings it writes are accepted by `tau permissions list` with no
 * problem, the model comes from what is running (an Ollama-speaking server on loopback), and no
 * existing file is replaced without `--yes`.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type Project, STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()
let ollama: ScriptedServer

beforeAll(async () => {
  ollama = await startScriptedServer({
    format: 'ollama',
    script: [],
    models: [{ name: 'qwen3:8b', capabilities: ['completion', 'tools'], contextLength: 40_960 }],
  })
})
afterAll(async () => {
  await ollama.close()
})

interface Rules {
  mode: string
  rules: Array<{ text: string; behavior: string; source: { scope: string } }>
  problems: unknown[]
}

async function permissions(p: Project): Promise<Rules> {
  const listed = await p.run(['permissions', 'list', '--json'])
  expect(listed.stderr).toBe('')
  expect(listed.code).toBe(0)
  return JSON.parse(listed.stdout) as Rules
}

async function initAndCheck(p: Project, env: Record<string, string> = {}) {
  const init = await p.run(['init'], { env })
  expect(init.stderr).not.toMatch(STACK_LINE)
  expect(init.code, init.stdout + init.stderr).toBe(0)
  for (const file of ['tau.config.ts', '.tau/settings.json', 'TAU.md']) expect(p.exists(file)).toBe(true)
  const config = await p.run(['config', '--json'], { env })
  expect(config.code, config.stderr).toBe(0)
  const listed = await permissions(p)
  expect(listed.problems).toEqual([])
  const projectRules = listed.rules
    .filter((r) => r.source.scope === 'project')
    .map((r) => `${r.behavior} ${r.text}`)
  return { init, config: JSON.parse(config.stdout) as Record<string, unknown>, projectRules }
}

describe('tau init', () => {
  it('an npm project: the model Ollama has, rules for its scripts, a TAU.md with its commands', async () => {
    const p = await project({
      'package.json': JSON.stringify({
        name: 'shop',
        description: 'A small web shop.',
        scripts: { test: 'vitest run', lint: 'biome check .', build: 'tsc', dev: 'vite' },
      }),
      'package-lock.json': '{}',
      'src/index.ts': 'export {}\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
    })
    const { init, config, projectRules } = await initAndCheck(p, { OLLAMA_HOST: ollama.url })
    expect(config.model).toBe('ollama:qwen3:8b')
    expect(init.stdout).toContain('model:   ollama:qwen3:8b')
    expect(projectRules).toEqual(
      expect.arrayContaining([
        'allow Bash(npm test:*)',
        'allow Bash(npm run lint:*)',
        'allow Bash(npm run build:*)',
        'allow Bash(git diff:*)',
        'ask Bash(git push:*)',
        'ask Bash(npm publish:*)',
        'deny Read(./.env)',
      ]),
    )
    expect(projectRules.some((r) => r.includes('dev'))).toBe(false)
    const memory = await readFile(p.path('TAU.md'), 'utf8')
    expect(memory).toContain('# shop')
    expect(memory).toContain('A small web shop.')
    expect(memory).toContain('- test: `npm test`')
    expect(memory).toContain('- `src/`')
    // The config is commented TypeScript that imports tau by its package name.
    const text = await readFile(p.path('tau.config.ts'), 'utf8')
    expect(text).toMatch(/^\/\/ tau's config for shop/)
    expect(text).toContain('model: "ollama:qwen3:8b"')
  })

  it('a pnpm project gets pnpm rules; with a key set and no Ollama, that provider’s model', async () => {
    const p = await project({
      'package.json': JSON.stringify({ name: 'lib', scripts: { test: 'vitest', typecheck: 'tsc --noEmit' } }),
      'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
    })
    const { config, projectRules } = await initAndCheck(p, {
      // Nothing listens here: Ollama is "not running".
      OLLAMA_HOST: 'http://127.0.0.1:9',
      ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
    })
    expect(config.model).toBe('anthropic:claude-sonnet-4-5')
    expect(projectRules).toEqual(
      expect.arrayContaining([
        'allow Bash(pnpm test:*)',
        'allow Bash(pnpm typecheck:*)',
        'ask Bash(pnpm publish:*)',
      ]),
    )
    expect(projectRules.some((r) => r.includes('(npm test'))).toBe(false)
  })

  it('a Python project (uv, ruff): pytest and ruff rules; no model found is said, not guessed', async () => {
    const p = await project({
      'pyproject.toml':
        '[project]\nname = "weather"\ndescription = "Forecasts from station data."\n\n[tool.ruff]\nline-length = 100\n',
      'uv.lock': 'version = 1\n',
      'weather/__init__.py': '',
      'tests/test_weather.py': 'def test_ok():\n    assert True\n',
    })
    const { init, config, projectRules } = await initAndCheck(p, { OLLAMA_HOST: 'http://127.0.0.1:9' })
    expect(config.model).toBeUndefined()
    expect(init.stdout).toContain('(none found; set `model` in tau.config.ts)')
    expect(await readFile(p.path('tau.config.ts'), 'utf8')).toContain("// model: 'ollama:qwen3:8b',")
    expect(projectRules).toEqual(
      expect.arrayContaining(['allow Bash(uv run pytest:*)', 'allow Bash(uv run ruff check:*)']),
    )
    const memory = await readFile(p.path('TAU.md'), 'utf8')
    expect(memory).toContain('# weather')
    expect(memory).toContain('Forecasts from station data.')
    expect(memory).toContain('- `tests/`')
  })

  it('never replaces an existing file without --yes; with --yes it does', async () => {
    const p = await project({
      'package.json': JSON.stringify({ name: 'kept', scripts: { test: 'node --test' } }),
      'TAU.md': '# my own notes\n',
      '.tau/settings.json': '{ "permissions": { "allow": ["Bash(make:*)"] } }\n',
    })
    const first = await p.run(['init', '--model', 'ollama:qwen3:8b'])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('kept     TAU.md (it exists; run with --yes to replace it)')
    expect(first.stdout).toContain('kept     .tau/settings.json')
    expect(first.stdout).toContain('written  tau.config.ts')
    expect(await readFile(p.path('TAU.md'), 'utf8')).toBe('# my own notes\n')
    expect((await permissions(p)).rules.map((r) => r.text)).toContain('Bash(make:*)')

    // --scan: no agent run (this model has no key and no server here).
    const again = await p.run(['init', '--yes', '--scan', '--model', 'anthropic:claude-sonnet-4-5'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('replaced TAU.md')
    expect(again.stdout).toContain('replaced tau.config.ts')
    expect(await readFile(p.path('TAU.md'), 'utf8')).toContain('# kept')
    const rules = (await permissions(p)).rules.map((r) => r.text)
    expect(rules).toContain('Bash(npm test:*)')
    expect(rules).not.toContain('Bash(make:*)')
  })

  it('with a model configured, the agent reads the project and writes TAU.md (with Read and Write only)', async () => {
    const agentText = [
      '# shop',
      '',
      'A small web shop: a Vite front end over a TypeScript API in src/.',
      '',
      '## Commands',
      '- test: `npm test` (vitest)',
    ].join('\n')
    const model = await startScriptedServer({
      format: 'ollama',
      script: [
        { toolCalls: [{ name: 'Read', input: { file_path: 'TAU.md' } }] },
        { toolCalls: [{ name: 'Read', input: { file_path: 'README.md' } }] },
        { toolCalls: [{ name: 'Write', input: { file_path: 'TAU.md', content: `${agentText}\n` } }] },
        { text: 'TAU.md now describes the project.' },
      ],
      models: [{ name: 'qwen3:8b', capabilities: ['completion', 'tools'], contextLength: 40_960 }],
    })
    try {
      const p = await project({
        'package.json': JSON.stringify({ name: 'shop', scripts: { test: 'vitest run' } }),
        'README.md': 'The shop: a Vite front end over a TypeScript API.\n',
        'src/index.ts': 'export {}\n',
      })
      const init = await p.run(['init', '--model', 'ollama:qwen3:8b'], {
        env: { OLLAMA_HOST: model.url },
      })
      expect(init.stderr).not.toMatch(STACK_LINE)
      expect(init.code, init.stdout + init.stderr).toBe(0)
      expect(init.stdout).toContain('written  TAU.md by the agent (ollama:qwen3:8b, 4 turns)')
      expect(init.stderr).toContain('Write TAU.md')
      expect(await readFile(p.path('TAU.md'), 'utf8')).toBe(`${agentText}\n`)
      // The agent was asked to write TAU.md, read the scan's draft first, and had only the
      // read tools and Write/Edit: no shell, no web.
      const chats = model.requests.filter((r) => (r.body as { messages?: unknown }).messages !== undefined)
      expect(JSON.stringify(chats[0]?.body)).toContain('Write TAU.md for this project')
      const firstBody = chats[0]?.body as { tools?: Array<{ function: { name: string } }> } | undefined
      const offered = (firstBody?.tools ?? []).map((tool) => tool.function.name).sort()
      expect(offered).toEqual(['Edit', 'Glob', 'Grep', 'LS', 'Read', 'Write'])
      expect(JSON.stringify(chats[1]?.body)).toContain('- test: `npm test`')
      expect(chats).toHaveLength(4)
    } finally {
      await model.close()
    }
  })

  it('a bad --model is a clear error, not a stack trace', async () => {
    const p = await project({})
    const result = await p.run(['init', '--model', 'no-colon'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('TAU_SCAFFOLD_USAGE')
    expect(result.stderr).toContain("--model 'no-colon'")
    expect(result.stderr).not.toMatch(STACK_LINE)
    expect(p.exists('tau.config.ts')).toBe(false)
  })
})
