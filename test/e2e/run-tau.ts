/**
 * Drives the real, compiled `tau` binary (dist/bin/tau.js, built by test/global-setup.ts) in
 * throwaway projects, the way a user runs it.
 *
 * Every run gets a clean environment: PATH, TAU_HOME (a temp dir, never the real home), HOME (another
 * temp dir, so that anything that ignores TAU_HOME shows up there instead of in the real home),
 * NO_COLOR, and only what the test adds. Nothing of the test runner's environment leaks in.
 *
 * Fixture projects live under os.tmpdir(), outside this repository, so the upward config search
 * can never meet the repository's own tau.config.ts or package.json. Such a project cannot resolve
 * 'zod' (or 'tapable') by itself; rather than importing zod by an absolute path, each project gets
 * node_modules/zod as a symlink to the repository's copy, exactly as if the user had installed
 * zod. So fixtures read like user code: `import { z } from 'zod'`. 'tau-agent' is deliberately NOT
 * linked: the binary maps `import ... from 'tau-agent'` (or 'tau') in configs and plugins to the running tau,
 * which is what a globally installed tau relies on.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const TAU_BIN = join(REPO_ROOT, 'dist', 'bin', 'tau.js')

/**
 * How long a tau process or a wait for one may take before the test calls it a hang. Generous on
 * purpose: nothing waits for it unless something hangs, and the suite runs its files side by side
 * on two cores, often on a machine that is busy with more.
 */
export const HANG_LIMIT_MS = 120_000

/** XDG_CACHE_HOME of every run: per user and checkout, outside the repository and the home. */
const SUITE_CACHE = join(
  tmpdir(),
  `tau-e2e-cache-${process.getuid?.() ?? 'user'}-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 8)}`,
)

/** A line of a JavaScript stack trace. */
export const STACK_LINE = /^\s+at /m

export interface TauResult {
  /** Exit code; null when the process was killed by a signal it did not handle. */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** True when the run exceeded its time limit and was killed. */
  readonly timedOut: boolean
}

export interface RunOptions {
  cwd: string
  tauHome: string
  /** HOME for the process; a temp dir. */
  home: string
  /** Extra environment variables, on top of PATH, TAU_HOME, HOME and NO_COLOR. */
  env?: Record<string, string>
  /**
   * Kill the process (SIGKILL) after this long; default HANG_LIMIT_MS (a limit for hangs only: on
   * a loaded two-core machine a run that takes 2 s alone can take 40 s).
   */
  timeoutMs?: number
  /** Written to tau's stdin, which is then closed (default: no stdin at all). */
  stdin?: string
  /** Run something else than the compiled binary, e.g. ['--import', 'jiti/register', 'bin/tau.ts']. */
  command?: readonly string[]
}

export interface TauProcess {
  readonly child: ChildProcess
  readonly result: Promise<TauResult>
  /** True once the process has exited. */
  readonly exited: boolean
  /** The output so far, for messages when something goes wrong. */
  output(): string
}

export function cleanEnv(
  tauHome: string,
  home: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  // TAU_TRUST: fixture projects are the test's own, so they are trusted (as CI would say with
  // TAU_TRUST=1); a test of workspace trust passes TAU_TRUST: '0'.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TAU_HOME: tauHome,
    HOME: home,
    NO_COLOR: '1',
    TAU_TRUST: '1',
    // The machine's policy files (/etc/tau, /etc/claude-code) never reach a test's tau.
    TAU_MANAGED_SETTINGS_DIR: join(home, 'managed-settings'),
    // The launcher's compile cache (bin/compile-cache.ts), one for this checkout's runs: every
    // test's HOME is new, and each run would compile the body again.
    XDG_CACHE_HOME: SUITE_CACHE,
    ...extra,
  }
}

/** Starts `node dist/bin/tau.js ...args`; resolves `result` when it exits. */
export function spawnTau(args: readonly string[], options: RunOptions): TauProcess {
  const command = options.command ?? [TAU_BIN]
  const child = spawn(process.execPath, [...command, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.tauHome, options.home, options.env),
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  if (options.stdin !== undefined) child.stdin?.end(options.stdin)
  let stdout = ''
  let stderr = ''
  let exited = false
  let timedOut = false
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, options.timeoutMs ?? HANG_LIMIT_MS)
  const result = new Promise<TauResult>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      exited = true
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
  return {
    child,
    result,
    get exited() {
      return exited
    },
    output: () => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
  }
}

export function runTau(args: readonly string[], options: RunOptions): Promise<TauResult> {
  return spawnTau(args, options).result
}

/** Waits until `file` exists; fails at once if the process exits first. */
export async function waitForFile(file: string, proc: TauProcess, timeoutMs = HANG_LIMIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!existsSync(file)) {
    if (proc.exited) {
      const result = await proc.result
      throw new Error(`tau exited (code ${result.code}) before ${file} appeared\n${proc.output()}`.trimEnd())
    }
    if (Date.now() > deadline)
      throw new Error(`${file} did not appear within ${timeoutMs} ms\n${proc.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Waits until `check()` holds; fails at once if the process exits first. */
export async function waitUntil(
  check: () => boolean,
  what: string,
  proc: TauProcess,
  timeoutMs = HANG_LIMIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (proc.exited) throw new Error(`tau exited before ${what}\n${proc.output()}`)
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${proc.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Packages a fixture project may import, linked from the repository's node_modules. */
export type LinkedPackage = 'zod' | 'tapable'

export interface Project {
  /** The project directory (where tau runs by default). */
  readonly dir: string
  /** TAU_HOME for every run in this project; outside `dir`. */
  readonly tauHome: string
  /** HOME for every run in this project; outside `dir`, and tau should never write to it. */
  readonly home: string
  /** Absolute path of a file in the project. */
  path(relative: string): string
  exists(relative: string): boolean
  /** Writes files (creating folders), relative to the project directory. */
  write(files: Record<string, string>): Promise<void>
  run(args: readonly string[], options?: Partial<RunOptions>): Promise<TauResult>
  spawn(args: readonly string[], options?: Partial<RunOptions>): TauProcess
  /** Files in $TAU_HOME/cache/jiti, where transpiled TypeScript is cached. */
  cacheFiles(): Promise<string[]>
}

/**
 * A factory for fixture projects; every project it made is removed after the file's tests.
 * Call at the top level of a test file.
 */
export function useProjects(): (
  files?: Record<string, string>,
  link?: readonly LinkedPackage[],
) => Promise<Project> {
  const roots: string[] = []
  afterAll(async () => {
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })))
  })
  return async (files = {}, link = ['zod']) => {
    const root = await mkdtemp(join(tmpdir(), 'tau-e2e-'))
    roots.push(root)
    const dir = join(root, 'project')
    const tauHome = join(root, 'tau-home')
    const home = join(root, 'home')
    await mkdir(join(dir, 'node_modules'), { recursive: true })
    await mkdir(tauHome)
    await mkdir(home)
    for (const name of link) {
      await symlink(join(REPO_ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir')
    }
    const project: Project = {
      dir,
      tauHome,
      home,
      path: (relative) => join(dir, relative),
      exists: (relative) => existsSync(join(dir, relative)),
      async write(more) {
        for (const [relative, text] of Object.entries(more)) {
          await mkdir(dirname(join(dir, relative)), { recursive: true })
          await writeFile(join(dir, relative), text)
        }
      },
      run: (args, options = {}) => runTau(args, { cwd: dir, tauHome, home, ...options }),
      spawn: (args, options = {}) => spawnTau(args, { cwd: dir, tauHome, home, ...options }),
      async cacheFiles() {
        const cache = join(tauHome, 'cache', 'jiti')
        return existsSync(cache) ? (await readdir(cache)).sort() : []
      },
    }
    await project.write(files)
    return project
  }
}

/**
 * Source of a plugin whose teardown writes `<name>.torndown` into the project directory, so a
 * test can tell that it ran. `body` goes into setup (ctx is in scope) before the teardown. Plain
 * JavaScript (also valid TypeScript), for a .mjs file as much as a .ts one.
 */
export function markerPlugin(
  name: string,
  options: { dependsOn?: readonly string[]; body?: string; teardown?: string } = {},
): string {
  return `import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { definePlugin, frontendRef } from 'tau-agent'

export default definePlugin({
  name: ${JSON.stringify(name)},
  dependsOn: ${JSON.stringify(options.dependsOn ?? [])},
  setup(ctx) {
    const marker = (what) => writeFileSync(join(ctx.paths.projectDir, what), what)
    ${options.body ?? ''}
    return () => {
      ${options.teardown ?? ''}
      marker(${JSON.stringify(`${name}.torndown`)})
    }
  },
})
`
}

/** The names (= folders) of the `coding` preset's plugins: presets/coding.ts's imports. */
const CODING_PLUGINS = [
  ...readFileSync(join(REPO_ROOT, 'presets', 'coding.ts'), 'utf8').matchAll(
    /^import \w+ from '\.\.\/plugins\/([\w-]+)\/index\.js'$/gm,
  ),
].map((match) => match[1] as string)

/**
 * A tau.config.json holding the named built-in plugins (by folder name, 'provider-openai') and no
 * other: the `coding` preset with every other plugin of it in `disablePlugins`, and `rest` (JSON
 * values) beside them. The same plugins as builtinPluginsConfig's, in the preset's order, without a module of the config's own: a config or plugin module
 * that imports 'tau-agent' makes tau load its package modules (sdk/package-modules.ts: the
 * root, testing, presets and the plugins' entry), and the first such module loads jiti: `tau
 * config` 0.48 s of CPU with builtinPluginsConfig's config, 0.19 s with this one. A plugin the
 * coding preset gains later is disabled too, so the set stays the one named.
 */
export function builtinPluginsJson(plugins: readonly string[], rest: Record<string, unknown>): string {
  const unknown = plugins.filter((name) => !CODING_PLUGINS.includes(name))
  if (unknown.length > 0 || CODING_PLUGINS.length === 0) {
    throw new Error(
      `builtinPluginsJson: ${unknown.join(', ') || 'no plugin'} not found among presets/coding.ts's imports (${CODING_PLUGINS.join(', ')})`,
    )
  }
  return `${JSON.stringify(
    {
      preset: 'coding',
      disablePlugins: CODING_PLUGINS.filter((name) => !plugins.includes(name)),
      ...rest,
    },
    null,
    2,
  )}\n`
}

/**
 * A tau.config.mjs: the `minimal` preset, the named built-in plugins (by folder name,
 * 'provider-openai') imported from `tau-agent/plugins` (the running tau's own), and `rest` (JSON
 * values) beside them. For tests whose plugin set is fixed but whose subject is not how plugins
 * load: listed by their dist/ path instead, each run loads the plugins' compiled tree a second
 * time through jiti (about 0.7 s of CPU), and a tau.config.ts costs a transpile (about 0.35 s).
 * builtinPluginsJson's config is cheaper still (no config module at all); this one is for a test
 * of a config importing the running tau's plugins (sandbox-escapes.test.ts).
 */
export function builtinPluginsConfig(plugins: readonly string[], rest: Record<string, unknown>): string {
  const names = plugins.map((name) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()))
  return `import { defineConfig } from 'tau-agent'
import { ${names.join(', ')} } from 'tau-agent/plugins'

export default defineConfig({
  preset: 'minimal',
  plugins: [${names.join(', ')}],
  ...${JSON.stringify(rest)},
})
`
}
