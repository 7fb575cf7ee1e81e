/**
 * How the real `tau` binary reports what goes wrong: a non-zero exit, the error code, the file,
 * the plugin and the field or cause on stderr, nothing on stdout, and no stack trace unless
 * --debug asks for one (then there is one).
 *
 * Configs and plugins are .mjs where their form is not the subject (TypeScript costs each run a
 * transpile, about 0.3 s of CPU); the syntax error and the setup and teardown plugins stay
 * TypeScript, so errors of a TypeScript config and plugin are seen too.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { markerPlugin, type Project, STACK_LINE, type TauResult, useProjects } from './run-tau.js'

const project = useProjects()

interface Run {
  readonly result: TauResult
  /** The run's own project, so marker files never mix. */
  readonly project: Project
}

interface Reported {
  readonly plain: TauResult
  /** The project of the run without --debug. */
  readonly project: Project
  /** The same run with --debug, in an identical project of its own; see runBoth. */
  readonly debug?: Run
}

/** The runs of this file by their files and arguments: tests that ask about the same run share it. */
const runs = new Map<string, Promise<Run>>()

/** Runs `args` in a project of `files`, once for all the tests that ask (a tau start, ~0.4 s of CPU). */
function runOnce(files: Record<string, string>, args: readonly string[]): Promise<Run> {
  const key = JSON.stringify([files, args])
  let run = runs.get(key)
  if (run === undefined) {
    run = project(files).then(async (p) => ({ result: await p.run(args), project: p }))
    runs.set(key, run)
  }
  return run
}

/**
 * Runs `args` as given and, unless `debug` is false, with --debug too, in two identical projects.
 * Several tests look at different sides of one run (its code, the file it names, the package
 * names it tried): the same files and arguments get the same runs. --debug adds the error's stack
 * (formatError, the same for every TauError) to what the run without it prints: a test whose
 * error code and throw site another test's --debug run shows already says so and passes false.
 */
async function runBoth(
  files: Record<string, string>,
  args: readonly string[],
  debug = true,
): Promise<Reported> {
  const [plain, debugged] = await Promise.all([
    runOnce(files, args),
    debug ? runOnce(files, [...args, '--debug']) : undefined,
  ])
  return { plain: plain.result, project: plain.project, ...(debugged ? { debug: debugged } : {}) }
}

/** The shape every reported error shares; `mentions` are strings or patterns stderr must contain. */
function expectReported(
  reported: Reported,
  code: string,
  mentions: ReadonlyArray<string | RegExp> | ((project: Project) => ReadonlyArray<string | RegExp>),
): void {
  const { plain, debug } = reported
  const checked: Array<readonly [TauResult, Project, string]> = [[plain, reported.project, 'without --debug']]
  if (debug) checked.push([debug.result, debug.project, 'with --debug'])
  for (const [result, p, label] of checked) {
    expect(result.timedOut, `${label}: timed out`).toBe(false)
    expect(result.code, `${label}: exit code\n${result.stderr}`).toBe(1)
    expect(result.stdout, `${label}: stdout is protocol, errors go to stderr`).toBe('')
    expect(result.stderr, label).toContain(`error ${code}: `)
    for (const mention of typeof mentions === 'function' ? mentions(p) : mentions) {
      if (typeof mention === 'string') expect(result.stderr, label).toContain(mention)
      else expect(result.stderr, label).toMatch(mention)
    }
  }
  expect(plain.stderr, 'no stack trace without --debug').not.toMatch(STACK_LINE)
  if (debug) expect(debug.result.stderr, 'a stack trace with --debug').toMatch(STACK_LINE)
}

const ollamaPlugin = `import { definePlugin } from 'tau-agent'
import { z } from 'zod'

export default definePlugin({
  name: 'ollama',
  configKey: 'providers.ollama',
  config: z.object({ timeout: z.number() }),
  setup() {},
})
`

const namedPlugin = (
  name: string,
  dependsOn: readonly string[] = [],
) => `import { definePlugin } from 'tau-agent'
export default definePlugin({ name: ${JSON.stringify(name)}, dependsOn: ${JSON.stringify(dependsOn)}, setup() {} })
`

describe.concurrent('tau reports errors', () => {
  it('a syntax error in tau.config.ts: names the file and the position', async () => {
    const reported = await runBoth(
      {
        'tau.config.ts': `import { defineConfig } from 'tau-agent'

export default defineConfig({
  preset: 'minimal',,
})
`,
      },
      ['start'],
    )
    expectReported(reported, 'TAU_CONFIG_LOAD', (p) => [p.path('tau.config.ts'), /tau\.config\.ts:4:\d+/])
  })

  it('a syntax error in tau.config.mjs (loaded natively): names the file and the position', async () => {
    const reported = await runBoth(
      { 'tau.config.mjs': "export default {\n  preset: 'minimal',,\n}\n" },
      ['start'],
      false,
    )
    expectReported(reported, 'TAU_CONFIG_LOAD', (p) => [p.path('tau.config.mjs'), /tau\.config\.mjs:2:\d+/])
  })

  it("a wrong type in a plugin's slice: names the field, the value, the plugin and the file", async () => {
    const reported = await runBoth(
      {
        'ollama.mjs': ollamaPlugin,
        'tau.config.mjs': `import { defineConfig } from 'tau-agent'
export default defineConfig({ preset: 'minimal', plugins: ['./ollama.mjs'], providers: { ollama: { timeout: 'fast' } } })
`,
      },
      ['start'],
    )
    expectReported(reported, 'TAU_CONFIG_INVALID', (p) => [
      'providers.ollama.timeout: expected number, got "fast"',
      "plugin 'ollama'",
      p.path('tau.config.mjs'),
    ])
  })

  it('an unknown top-level key: names it, suggests the kernel key it resembles, names the file', async () => {
    const reported = await runBoth({ 'tau.config.mjs': "export default { logLevl: 'debug' }\n" }, ['start'])
    expectReported(reported, 'TAU_CONFIG_UNKNOWN_KEY', (p) => [
      'logLevl',
      "did you mean 'logLevel'",
      p.path('tau.config.mjs'),
    ])
  })

  it('several config problems are reported together, each with its path', async () => {
    const reported = await runBoth(
      {
        'ollama.mjs': ollamaPlugin,
        'tau.config.mjs': `export default {
  preset: 'minimal',
  logLevl: 'debug',
  plugins: ['./ollama.mjs'],
  providers: { ollama: { timeout: 'fast' }, olama: {} },
}
`,
      },
      ['start'],
      // --debug: TAU_CONFIG_INVALID from the same validation as the wrong type's above.
      false,
    )
    expectReported(reported, 'TAU_CONFIG_INVALID', [
      '3 problems',
      /logLevl: unknown key.*did you mean 'logLevel'/,
      /providers\.olama: unknown key.*did you mean 'ollama'/,
      'providers.ollama.timeout: expected number, got "fast"',
    ])
  })

  it('an unknown preset on the command line lists the presets there are', async () => {
    const reported = await runBoth({}, ['start', '--preset', 'nope'])
    expectReported(reported, 'TAU_PRESET_UNKNOWN', ["unknown preset 'nope'", /available presets: .*minimal/])
  })

  it('a misspelt preset on the command line gets a did-you-mean', async () => {
    // --debug: TAU_PRESET_UNKNOWN from the same lookup as the unknown preset's above.
    const reported = await runBoth({}, ['start', '--preset', 'minimla'], false)
    expectReported(reported, 'TAU_PRESET_UNKNOWN', ["unknown preset 'minimla'", "did you mean 'minimal'"])
  })

  it('an unknown preset in the config gets a did-you-mean', async () => {
    // --debug: TAU_PRESET_UNKNOWN from the same lookup as the command line's.
    const reported = await runBoth(
      { 'tau.config.mjs': "export default { preset: 'minimall' }\n" },
      ['start'],
      false,
    )
    expectReported(reported, 'TAU_PRESET_UNKNOWN', ["unknown preset 'minimall'", "did you mean 'minimal'"])
  })

  it('a plugin path that does not exist: names the path it looked for', async () => {
    const reported = await runBoth(
      { 'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./missing-plugin'] }\n" },
      ['start'],
    )
    expectReported(reported, 'TAU_PLUGIN_NOT_FOUND', (p) => [
      "cannot find plugin './missing-plugin'",
      p.path('missing-plugin'),
    ])
  })

  it('a plugin package that is not installed: names the package', async () => {
    // --debug: TAU_PLUGIN_NOT_FOUND from the same resolution as the missing path's above.
    const reported = await runBoth(
      { 'tau.config.mjs': "export default { preset: 'minimal', plugins: ['nope'] }\n" },
      ['start'],
      false,
    )
    expectReported(reported, 'TAU_PLUGIN_NOT_FOUND', ["cannot find plugin 'nope'", 'npm install'])
  })

  it('two plugins of one name in the config: names the plugin', async () => {
    const reported = await runBoth(
      {
        'a.mjs': namedPlugin('a'),
        'also-a.mjs': namedPlugin('a'),
        'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./a.mjs', './also-a.mjs'] }\n",
      },
      ['start'],
    )
    expectReported(reported, 'TAU_PLUGIN_DUPLICATE', ["two plugins are named 'a'"])
  })

  it('a dependency cycle: shows the cycle', async () => {
    const reported = await runBoth(
      {
        'a.mjs': namedPlugin('a', ['b']),
        'b.mjs': namedPlugin('b', ['a']),
        'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./a.mjs', './b.mjs'] }\n",
      },
      ['start'],
    )
    expectReported(reported, 'TAU_DEPENDENCY_CYCLE', [/a -> b -> a|b -> a -> b/])
  })

  it('a missing dependency: names the plugin and what it needs, with a did-you-mean', async () => {
    const reported = await runBoth(
      {
        'ollama.mjs': ollamaPlugin,
        'chat.mjs': namedPlugin('chat', ['ollam']),
        'tau.config.mjs':
          "export default { preset: 'minimal', plugins: ['./chat.mjs', './ollama.mjs'], providers: { ollama: { timeout: 5 } } }\n",
      },
      ['start'],
    )
    expectReported(reported, 'TAU_DEPENDENCY_MISSING', ["plugin 'chat'", "'ollam'", "did you mean 'ollama'"])
  })

  it('a setup that throws: names the plugin and the cause; plugins set up before it were torn down', async () => {
    const files = {
      'early.ts': markerPlugin('early'),
      'boom.ts': markerPlugin('boom', { dependsOn: ['early'], body: "throw new Error('kaboom in setup')" }),
      'late.ts': markerPlugin('late', { dependsOn: ['boom'] }),
      // Registration order differs from setup order: early sets up first because boom needs it.
      'tau.config.ts':
        "export default { preset: 'minimal', plugins: ['./late.ts', './boom.ts', './early.ts'] }\n",
    }
    const reported = await runBoth(files, ['start'])
    expectReported(reported, 'TAU_SETUP_FAILED', ["plugin 'boom'", 'kaboom in setup'])
    for (const p of [reported.project, reported.debug?.project]) {
      if (p === undefined) throw new Error('the setup failure is run with --debug too')
      expect(p.exists('early.torndown'), 'the teardown of a plugin set up earlier ran').toBe(true)
      expect(p.exists('boom.torndown'), 'a failed setup returned no teardown').toBe(false)
      expect(p.exists('late.torndown'), 'a plugin after the failure was never set up').toBe(false)
    }
  })

  it("a teardown that throws: names the plugin and the cause; the other plugins' teardowns still ran", async () => {
    const files = {
      'early.ts': markerPlugin('early'),
      'bad-teardown.ts': markerPlugin('bad-teardown', {
        dependsOn: ['early'],
        teardown: "throw new Error('teardown exploded')",
      }),
      'late.ts': markerPlugin('late', { dependsOn: ['bad-teardown'] }),
      'tau.config.ts':
        "export default { preset: 'minimal', plugins: ['./late.ts', './bad-teardown.ts', './early.ts'] }\n",
    }
    const reported = await runBoth(files, ['start'])
    expectReported(reported, 'TAU_TEARDOWN_FAILED', ["plugin 'bad-teardown'", 'teardown exploded'])
    for (const p of [reported.project, reported.debug?.project]) {
      if (p === undefined) throw new Error('the teardown failure is run with --debug too')
      expect(p.exists('late.torndown'), 'torn down before the failing one').toBe(true)
      expect(p.exists('early.torndown'), 'torn down after the failing one').toBe(true)
    }
  })

  it('--config pointing at a missing file: names the file', async () => {
    const reported = await runBoth({}, ['start', '--config', 'does-not-exist.ts'])
    expectReported(reported, 'TAU_CONFIG_NOT_FOUND', (p) => [p.path('does-not-exist.ts')])
  })
})

/**
 * An error caused by a line of the config should say which file that line is in, as the errors
 * about config values already do.
 */
describe.concurrent('errors caused by a config entry name the config file', () => {
  it.each<{ what: string; files: Record<string, string>; code: string }>([
    {
      what: 'an unknown preset',
      files: { 'tau.config.mjs': "export default { preset: 'minimall' }\n" },
      code: 'TAU_PRESET_UNKNOWN',
    },
    {
      what: 'a plugin path that does not exist',
      files: { 'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./missing-plugin'] }\n" },
      code: 'TAU_PLUGIN_NOT_FOUND',
    },
    {
      what: 'a plugin package that is not installed',
      files: { 'tau.config.mjs': "export default { preset: 'minimal', plugins: ['nope'] }\n" },
      code: 'TAU_PLUGIN_NOT_FOUND',
    },
    {
      what: 'two plugins of one name',
      files: {
        'a.mjs': namedPlugin('a'),
        'also-a.mjs': namedPlugin('a'),
        'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./a.mjs', './also-a.mjs'] }\n",
      },
      code: 'TAU_PLUGIN_DUPLICATE',
    },
  ])('$what', async ({ files, code }) => {
    // The same run as the test above of this error (its files and arguments), not another.
    const { result, project: p } = await runOnce(files, ['start'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error ${code}: `)
    expect(result.stderr).toContain(p.path('tau.config.mjs'))
  })

  it('a plugin package that is not installed: says which package names were tried', async () => {
    const { result } = await runOnce(
      { 'tau.config.mjs': "export default { preset: 'minimal', plugins: ['nope'] }\n" },
      ['start'],
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('error TAU_PLUGIN_NOT_FOUND: ')
    // 'nope' is looked up as tau-plugin-nope first; the message should not say only "nope".
    expect(result.stderr).toContain('tau-plugin-nope')
  })
})

describe('a model that refuses the conversation as too long', () => {
  const servers: ScriptedServer[] = []
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()))
  })

  it('-p says so once on stderr, after compaction was tried and refused too', async () => {
    const tooLong = {
      status: 400,
      errorMessage:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
    }
    // Eight tool turns give compaction something to summarise; then every request is refused,
    // the summary request included.
    const server = await startScriptedServer({
      format: 'openai',
      script: [
        ...Array.from({ length: 8 }, (_, i) => ({
          toolCalls: [{ id: `call_${i}`, name: 'LS', input: { path: '.' } }],
        })),
        ...Array.from({ length: 6 }, () => tooLong),
      ],
    })
    servers.push(server)
    const p = await project({
      '.taurc.json': JSON.stringify({
        model: 'openai:scripted-model',
        providers: { openai: { baseURL: `${server.url}/v1` }, retries: { max: 0 } },
      }),
    })
    const result = await p.run(['start', '-p', 'list the files'], { env: { OPENAI_API_KEY: 'sk-test' } })
    expect(result.code, result.stderr).toBe(1)
    expect(result.stdout).toBe('')
    // The summary request went out and was refused: compaction was tried.
    expect(server.remaining()).toBeLessThan(5)
    expect(result.stderr).toContain('compaction failed')
    expect(result.stderr.match(/maximum context length is 128000 tokens/g) ?? []).toHaveLength(1)
    expect(result.stderr).toContain(
      'the model call failed: openai: request too long for the model (HTTP 400)',
    )
    expect(result.stderr).not.toMatch(STACK_LINE)
  })
})
