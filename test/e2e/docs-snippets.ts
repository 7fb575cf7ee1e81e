/**
 * docs/plugins.md as a newcomer meets it (run by packed-package.test.ts, which packs tau once for
 * these tests and plugin-new.ts's): every ```ts block is written into a fresh project that
 * has the packed tau tarball installed (test/e2e/packed-tau.ts), type-checked there with the
 * project's own tsc (strict), and the whole programs among them are run against the built-in
 * scripted model. A block's info string says what it is:
 *   ```ts                 a whole program, written to snippets/<section>.ts and run
 *   ```ts file=PATH       a file of a small project (the audit-log example), written to PATH
 *   ```ts fragment        not a whole program: skipped (keep these few)
 * Failures name the doc section the block is under.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installPacked, type PackedTau } from './packed-tau.js'
import { cleanEnv, HANG_LIMIT_MS, REPO_ROOT } from './run-tau.js'

const run = promisify(execFile)

interface Snippet {
  readonly section: string
  /** Where it is written in the project. */
  readonly file: string
  /** A whole program the test runs (not a file= block). */
  readonly program: boolean
  readonly code: string
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')

/** Every ```ts block of a markdown text but the fragments, with the section (## heading) above it. */
function extractSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = []
  const seen = new Map<string, number>()
  let section = '(before any section)'
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const heading = /^##\s+(.*)$/.exec(line)
    if (heading) section = heading[1]!.trim()
    const fence = /^```ts(?:\s+(.*))?$/.exec(line)
    if (!fence) continue
    const body: string[] = []
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!)
    const info = (fence[1] ?? '').trim()
    if (info === 'fragment') continue
    const file = /^file=(\S+)$/.exec(info)?.[1]
    if (info && !file)
      throw new Error(`docs/plugins.md, section '${section}': unknown ts block info '${info}'`)
    if (file) {
      snippets.push({ section, file, program: false, code: `${body.join('\n')}\n` })
      continue
    }
    const base = slug(section)
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    snippets.push({
      section,
      file: `snippets/${n === 1 ? base : `${base}-${n}`}.ts`,
      program: true,
      code: `${body.join('\n')}\n`,
    })
  }
  return snippets
}

/** What each program prints (sections a newcomer must be able to run; a missing one fails). */
const expected: Record<string, readonly (string | RegExp)[]> = {
  'A tool': ['WordCount returned 3', 'answer: Three words.'],
  'Tapping an agent hook': [/Bash refused: .*no-rm: rm is not allowed here/],
  'tau as a library: createAgent': [
    /result \([\w-]+, error: false\): Hello from the scripted model\./,
    'streamed: Hello from the scripted model.',
  ],
  "The package's entries": [
    'definePlugin: function',
    'createAgent: function',
    'defineService: function',
    'startScriptedServer: function',
    'createTestKernel: function',
    'plugins: tools, provider-scripted,',
  ],
}

const snippets = extractSnippets(readFileSync(join(REPO_ROOT, 'docs/plugins.md'), 'utf8'))
const programs = snippets.filter((snippet) => snippet.program)
let project: string

const tsconfig = (include: readonly string[]) => ({
  compilerOptions: {
    target: 'ES2023',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    types: ['node'],
    outDir: 'out',
    rootDir: '.',
  },
  include,
})

async function tsc(config: string): Promise<string> {
  return run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', config], {
    cwd: project,
    env: cleanEnv(join(project, '.tau-home'), join(project, '.home')),
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    () => '',
    (error: { stdout?: string }) => error.stdout || String(error),
  )
}

/** Not a doc block: a file importing a name the package does not export, which must fail the check. */
const BOGUS = 'snippets/bogus.ts'

/** The one tsc run of the project (every block and BOGUS), shared by the tests that read it. */
let check: Promise<string[]> | undefined
const checked = (): Promise<string[]> => {
  check ??= tsc('tsconfig.json').then((output) =>
    output.split('\n').filter((line) => /error TS\d+/.test(line)),
  )
  return check
}

/** tsc's errors, each prefixed with the doc section of the file it is in. */
function bySection(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
    .map((line) => {
      const owner = snippets.find((snippet) => line.startsWith(snippet.file))
      return `docs/plugins.md, section '${owner?.section ?? '?'}': ${line}`
    })
}

/** The docs' tests, in a project with `packed()` installed (packed before these tests run). */
export function docsSnippetsTests(packed: () => PackedTau): void {
  describe('docs/plugins.md snippets, in a project with the packed tau installed', () => {
    beforeAll(async () => {
      project = await mkdtemp(join(tmpdir(), 'tau-docs-snippets-'))
      // The project's TypeScript is 7 (typescript-native), what a newcomer's `npm install typescript` gets.
      await installPacked(project, packed(), [
        'zod',
        { name: 'typescript', from: 'typescript-native' },
        'vitest',
        '@types',
      ])
      await mkdir(join(project, '.tau-home'))
      await mkdir(join(project, '.home'))
      await writeFile(
        join(project, 'package.json'),
        '{ "name": "newcomer", "private": true, "type": "module" }\n',
      )
      // The blocks and a file importing a name the package does not export, checked by one tsc run
      // (each run loads the package's declarations and @types/node again, a few seconds of CPU):
      // errors are per file, so the bogus file's cannot hide or cause another block's.
      await writeFile(
        join(project, 'tsconfig.json'),
        JSON.stringify(tsconfig([...snippets.map((s) => s.file), BOGUS])),
      )
      for (const snippet of snippets) {
        await mkdir(dirname(join(project, snippet.file)), { recursive: true })
        await writeFile(join(project, snippet.file), snippet.code)
      }
      await writeFile(
        join(project, BOGUS),
        "import { defineTool, notAnExport } from 'tau-agent'\nconsole.log(defineTool, notAnExport)\n",
      )
    }, 180_000)
    afterAll(async () => {
      if (project) await rm(project, { recursive: true, force: true })
    })

    it('has the sections a plugin author follows, each with a whole program', () => {
      const sections = new Set(programs.map((snippet) => snippet.section))
      for (const section of Object.keys(expected)) expect(sections, `section '${section}'`).toContain(section)
      // The audit-log example and its createTestKernel test are files of one small project.
      expect(snippets.filter((snippet) => !snippet.program).map((snippet) => snippet.file)).toEqual([
        'audit-log/index.ts',
        'audit-log/audit-log.test.ts',
      ])
    })

    it('every block type-checks with the project tsc (strict), importing only what the package exports', async () => {
      const output = await checked()
      expect(bySection(output.filter((line) => !line.startsWith(BOGUS)).join('\n'))).toEqual([])
    })

    it('a snippet importing a name the package does not export fails the check, naming its section', async () => {
      const output = await checked()
      expect(output.filter((line) => line.startsWith(BOGUS))).toEqual([
        expect.stringMatching(/error TS2305: Module '"tau-agent"' has no exported member 'notAnExport'/),
      ])
    })

    it.each(programs.map((snippet) => [snippet.section, snippet] as const))(
      "runs the program of section '%s' against the scripted model",
      async (section, snippet) => {
        // The check's tsc run emits the programs (errors do not stop its output).
        await checked()
        const compiled = join(project, 'out', snippet.file.replace(/\.ts$/, '.js'))
        const result = await run(process.execPath, [compiled], {
          cwd: project,
          env: cleanEnv(join(project, '.tau-home'), join(project, '.home')),
          timeout: HANG_LIMIT_MS,
        }).then(
          (r) => ({ ok: true, stdout: r.stdout, stderr: r.stderr }),
          (error: { stdout?: string; stderr?: string }) => ({
            ok: false,
            stdout: error.stdout ?? '',
            stderr: error.stderr ?? String(error),
          }),
        )
        expect(result.ok, `docs/plugins.md, section '${section}' failed:\n${result.stderr}`).toBe(true)
        for (const want of expected[section] ?? [])
          if (typeof want === 'string') expect(result.stdout, `section '${section}'`).toContain(want)
          else expect(result.stdout, `section '${section}'`).toMatch(want)
      },
    )

    it("the audit-log example's createTestKernel test passes with the project's vitest", async () => {
      const output = await run(
        process.execPath,
        [join(project, 'node_modules/vitest/vitest.mjs'), 'run', 'audit-log.test.ts'],
        {
          cwd: project,
          env: cleanEnv(join(project, '.tau-home'), join(project, '.home')),
        },
      ).then(
        (r) => r.stdout,
        (error: { stdout?: string; stderr?: string }) =>
          `FAILED (section 'Testing it')\n${error.stdout}\n${error.stderr}`,
      )
      expect(output).not.toContain('FAILED')
      expect(output).toMatch(/Tests\s+3 passed/)
    })
  })
}
