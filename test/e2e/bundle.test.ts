/**
 * The bundled command (dist/bin, scripts/bundle-bin.mjs) as it starts: what a one-turn
 * `tau start -p` loads and what it leaves alone, seen from inside the real process (a probe
 * given with --import records the modules it resolves and, at exit, Node's built-in modules).
 * Start-up speed itself is measured in bench/ (docs/benchmarks.md), never here.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { lazySchemaDefaults } from '../../kernel/index.js'
import { exitPlanModeInput } from '../../plugins/plan/exit-plan-mode.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { skillInput } from '../../plugins/skills/skill-tool.js'
import { TASK_TOOL, taskInput } from '../../plugins/subagents/task-tool.js'
import { builtinTools, toJsonSchema, toolsConfig } from '../../plugins/tools/index.js'
import { builtinPresets, DEFAULT_PRESET } from '../../presets/index.js'
import { cliRunner } from '../kernel/cli-runner.js'
import { cleanEnv, REPO_ROOT, TAU_BIN, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

const PROBE = `import { appendFileSync, writeFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(
  "import { appendFileSync } from 'node:fs';" +
  "export async function resolve(specifier, context, next) {" +
  "  const resolved = await next(specifier, context);" +
  "  appendFileSync(process.env.PROBE_OUT + '.urls', resolved.url + '\\\\n');" +
  "  return resolved }"))
const required = createRequire(import.meta.url).cache
process.on('exit', () => {
  writeFileSync(process.env.PROBE_OUT + '.builtins', process.moduleLoadList.join('\\n'))
  writeFileSync(process.env.PROBE_OUT + '.required', Object.keys(required).join('\\n'))
})
`

describe('the bundled command', () => {
  it('is ASCII throughout (a two-byte chunk is held and decoded at twice the cost)', () => {
    const dir = join(REPO_ROOT, 'dist', 'bin')
    const chunks = existsSync(join(dir, 'chunks')) ? readdirSync(join(dir, 'chunks')) : []
    const files = ['cli.js', ...chunks.map((name) => join('chunks', name))]
    const notAscii = files.filter(
      (name) => name.endsWith('.js') && /[\u0080-\u{10ffff}]/u.test(readFileSync(join(dir, name), 'utf8')),
    )
    expect(readFileSync(join(dir, 'cli.js'), 'utf8').length).toBeGreaterThan(100_000)
    expect(notAscii).toEqual([])
  })

  it('a one-turn tau start -p loads no node:http2 module and no undici from node_modules, and sends the JSON Schemas the sources derive', async () => {
    const server = await startScriptedServer({ format: 'openai', script: [] })
    servers.push(server)
    const p = await project({
      'notes.txt': 'one\ntwo\n',
      'tau.config.json': JSON.stringify({
        preset: 'coding',
        model: 'openai:scripted-model',
        providers: { openai: { baseURL: `${server.url}/v1` } },
      }),
    })
    server.push(
      { toolCalls: [{ name: 'Read', input: { file_path: p.path('notes.txt') } }] },
      { text: 'done' },
    )
    const probe = join(p.tauHome, 'probe.mjs')
    writeFileSync(probe, PROBE)
    const out = join(p.tauHome, 'probe')
    const result = await p.run(
      ['start', '-p', 'read the notes', '--output-format', 'json', '--permission-mode', 'bypassPermissions'],
      {
        command: ['--import', pathToFileURL(probe).href, TAU_BIN],
        env: { PROBE_OUT: out, OPENAI_API_KEY: 'sk-test' },
      },
    )
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout.trim()).result).toBe('done')
    // The probe saw the run: the launcher (the body, dist/bin/cli.js, is a script the launcher
    // compiles itself, with its code cache: no module resolution). The model call's undici is the
    // body's own (scripts/bundle-bin.mjs): none of it is resolved or required from node_modules.
    const urls = readFileSync(`${out}.urls`, 'utf8').split('\n')
    expect(urls.some((url) => url.endsWith('/dist/bin/tau.js'))).toBe(true)
    expect(urls.filter((url) => url.includes('/node_modules/undici/'))).toEqual([])
    const required = readFileSync(`${out}.required`, 'utf8').split('\n')
    expect(required.filter((file) => file.includes(`${sep}node_modules${sep}undici${sep}`))).toEqual([])
    const builtins = readFileSync(`${out}.builtins`, 'utf8').split('\n')
    // The list is the run's own (the model call's socket), and undici's client-h2 got the stand-in.
    expect(builtins).toContain('NativeModule net')
    expect(builtins.filter((name) => name.includes('http2'))).toEqual([])
    // The built-in tools' JSON Schemas are the build's (scripts/bundle-bin.mjs, toolJsonSchemas),
    // not derived at start: what the model was sent is what these sources derive (from source,
    // each is derived as its tool is made), tool by tool.
    type SentTools = { tools?: { function: { name: string; parameters: unknown } }[] }
    const sent = (server.requests[0]?.body as SentTools | undefined)?.tools
    const derived = new Map([
      ...builtinTools(toolsConfig.parse({}), {}).map((tool) => [tool.name, tool.inputSchema] as const),
      ['Skill', toJsonSchema(skillInput)] as const,
      [TASK_TOOL, toJsonSchema(taskInput)] as const,
      ['ExitPlanMode', toJsonSchema(exitPlanModeInput)] as const,
    ])
    const compared = (sent ?? []).filter((tool) => derived.has(tool.function.name))
    expect(compared.map((tool) => tool.function.name)).toEqual(
      expect.arrayContaining(['Bash', 'Read', 'Grep', 'Edit', 'WebSearch', 'Skill', 'Task', 'ExitPlanMode']),
    )
    for (const tool of compared)
      expect(tool.function.parameters, tool.function.name).toEqual(derived.get(tool.function.name))
  })

  it("tau config answers as the sources do: the build's slice defaults are each schema's result for {}, and a bad slice gets the same error", async () => {
    // The table the build wrote (scripts/bundle-bin.mjs, kernel/lazy-schema.ts) is what these
    // sources compute now: a default changed without a build, or computed wrongly, fails here.
    await Promise.all(Object.values(builtinPresets).map((load) => load()))
    const sources = lazySchemaDefaults()
    expect(Object.keys(sources)).toContain('sandbox')
    const body = readFileSync(join(REPO_ROOT, 'dist', 'bin', 'cli.js'), 'utf8')
    expect(
      body.includes(JSON.stringify(sources)),
      `the body's __TAU_CONFIG_DEFAULTS__ is not ${JSON.stringify(sources)}`,
    ).toBe(true)
    for (const [config, code] of [
      [{ preset: 'coding' }, 0],
      [{ preset: 'coding', sandbox: { mode: 'bwrap', network: { mode: 'allowlist' } } }, 0],
      [{ preset: 'coding', sandbox: { mode: 'nope', roots: [''] } }, 1],
    ] as const) {
      const p = await project({ 'tau.config.json': JSON.stringify(config) })
      // From source (runCli in this process) nothing is precomputed, each schema is built and run:
      // the built command, which takes the absent slices from the table, prints the same config
      // and the same errors, in the same env.
      for (const argv of [['config', '--json'], ['config']]) {
        // The Claude home named (os.homedir() is the test process's own, not HOME).
        const built = await p.run(argv, { env: { CLAUDE_CONFIG_DIR: join(p.home, '.claude') } })
        const source = await cliRunner({
          dir: () => p.dir,
          presets: builtinPresets,
          defaultPreset: DEFAULT_PRESET,
          env: { ...cleanEnv(p.tauHome, p.home), CLAUDE_CONFIG_DIR: join(p.home, '.claude') },
        })(...argv)
        expect(built.code, built.stderr).toBe(code)
        expect(source.code, source.err).toBe(code)
        expect(built.stdout.trim(), JSON.stringify(config)).toBe(source.out.trim())
        expect(built.stderr.trim(), JSON.stringify(config)).toBe(source.err.trim())
        // An absent slice is the table's entry (so the comparison above covered it).
        if (code === 0 && argv.length === 2 && !('sandbox' in config))
          expect(JSON.parse(built.stdout).sandbox).toEqual(sources.sandbox)
      }
    }
  })
})
