/**
 * The launcher's code cache for the command's body (bin/tau.ts, bin/compile-cache.ts), through
 * the real binary: a second run uses it, a damaged one is rewritten, an unsafe directory is
 * refused, and what the cached body does (import() of externals, source maps, stdout) is the same.
 * TAU_DEBUG_COMPILE_CACHE=1 makes the launcher say on stderr what it did. Its speed is in
 * bench/start-turn.mjs (docs/benchmarks.md), never here.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import module from 'node:module'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readMapped } from '../../bin/compile-cache.js'
import { commandV8Flags } from '../../bin/v8-flags.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type Project, REPO_ROOT, STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})
const FAULT_SERVER = join(REPO_ROOT, 'test', 'plugins', 'mcp', 'fixtures', 'fault-server.mjs')

/** A project whose own cache directory (XDG_CACHE_HOME, outside the project) starts empty. */
async function cached(files: Record<string, string> = {}) {
  const p = await project(files)
  const xdg = join(p.home, 'xdg-cache')
  const dir = join(xdg, 'tau')
  const run = (args: readonly string[], env: Record<string, string> = {}) =>
    p.run(args, { env: { XDG_CACHE_HOME: xdg, TAU_DEBUG_COMPILE_CACHE: '1', ...env } })
  const entries = () => readdirSync(dir).filter((name) => name.endsWith('.v8cache'))
  return { p, xdg, dir, run, entries }
}

/** What the launcher said of the cache: hit, miss, rejected, refused or off. */
const stateOf = (stderr: string) => /tau: compile cache (\w+)/.exec(stderr)?.[1]

async function model(p: Project, ...turns: Parameters<ScriptedServer['push']>) {
  const server = await startScriptedServer({ format: 'openai', script: [] })
  servers.push(server)
  server.push(...turns)
  await p.write({
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'openai:scripted-model',
      providers: { openai: { baseURL: `${server.url}/v1` } },
    }),
  })
  return server
}

describe('the compile cache', () => {
  it('is written by the first run, in a private directory, and used by the next', async () => {
    const c = await cached()
    // Other builds' entries, older: the four newest files are kept. A killed writer's temporary
    // file an hour old goes too.
    mkdirSync(c.dir, { recursive: true, mode: 0o700 })
    const old = ['a', 'b', 'c', 'd', 'e'].map((tag, i) => {
      const file = join(c.dir, `cli-${tag}-v0-x64-00000000.v8cache`)
      writeFileSync(file, 'old', { mode: 0o600 })
      utimesSync(file, 1000 + i, 1000 + i)
      return file
    })
    const stale = join(c.dir, 'cli-f-v0-x64-00000000.v8cache.1.x.tmp')
    writeFileSync(stale, 'partial', { mode: 0o600 })
    utimesSync(stale, 1000, 1000)
    const first = await c.run(['--help'])
    expect(first.code, first.stderr).toBe(0)
    expect(stateOf(first.stderr)).toBe('miss')
    expect(readdirSync(c.dir).sort()).toEqual(
      [
        ...old.slice(2).map((file) => file.slice(c.dir.length + 1)),
        c.entries().find((n) => !n.includes('-v0-')),
        // Node 22.1+ keeps its own compile cache beside tau's, in node/ (bin/tau.ts); Node 20 has none.
        ...('enableCompileCache' in module ? ['node'] : []),
      ].sort(),
    )
    for (const file of old) rmSync(file, { force: true })
    expect(c.entries()).toHaveLength(1)
    expect(lstatSync(c.dir).mode & 0o777).toBe(0o700)
    expect(lstatSync(join(c.dir, c.entries()[0] as string)).mode & 0o777).toBe(0o600)
    const second = await c.run(['--help'])
    expect(stateOf(second.stderr)).toBe('hit')
    expect(second.stdout).toBe(first.stdout)
    // `tau --version` never loads the body, so it neither reads nor writes a cache.
    const version = await c.run(['--version'])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    expect(version.stderr).toBe('')
  })

  it("a changed body never runs with its old bytes' code: the key has the build's hash of the body and the file's change time", async () => {
    const c = await cached()
    // A copy of the built command, with a body of its own to edit (node_modules and package.json
    // the repository's, as an installed tau has them).
    const root = join(c.p.home, 'installed')
    const bin = join(root, 'dist', 'bin')
    mkdirSync(bin, { recursive: true })
    for (const file of ['tau.js', 'cli.js'])
      copyFileSync(join(REPO_ROOT, 'dist', 'bin', file), join(bin, file))
    copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'))
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'))
    // The build wrote the hash of the body's bytes into the launcher (a rebuild changes it).
    const body = join(bin, 'cli.js')
    const bytes = readFileSync(body, 'latin1')
    expect(readFileSync(join(bin, 'tau.js'), 'utf8')).toContain(
      createHash('sha1').update(bytes, 'latin1').digest('hex'),
    )
    const help = (env: Record<string, string> = {}) =>
      c.p.run(['--help'], {
        command: [join(bin, 'tau.js')],
        env: { XDG_CACHE_HOME: c.xdg, TAU_DEBUG_COMPILE_CACHE: '1', ...env },
      })
    expect(stateOf((await help()).stderr)).toBe('miss')
    const warm = await help()
    expect(stateOf(warm.stderr)).toBe('hit')
    expect(warm.stdout).toContain('tau: an agent runtime built as a plugin microkernel')
    // The same length, other bytes, the launcher untouched: V8 itself would take the old code
    // (its check is the source's length), so only the key can tell.
    const described = 'an agent runtime built as a plugin microkernel'
    expect(bytes.split(described)).toHaveLength(2)
    writeFileSync(body, bytes.replace(described, described.toUpperCase()), 'latin1')
    const edited = await help()
    expect(edited.code, edited.stderr).toBe(0)
    expect(stateOf(edited.stderr)).toBe('miss')
    expect(edited.stdout).toContain(`tau: ${described.toUpperCase()}`)
    expect(c.entries()).toHaveLength(2)
    const again = await help()
    expect(stateOf(again.stderr)).toBe('hit')
    expect(again.stdout).toContain(`tau: ${described.toUpperCase()}`)
  })

  it("prunes Node's compile cache to the current Node's folder and the newest others, on a miss only", async () => {
    const c = await cached()
    const node = join(c.dir, 'node')
    mkdirSync(node, { recursive: true, mode: 0o700 })
    // Node 22+ makes one folder per Node build there (Node 20 none): made by hand, older ones
    // first, the current Node's the oldest of all. Each holds a cache file, as Node's do.
    const folder = (name: string, age: number) => {
      mkdirSync(join(node, name))
      writeFileSync(join(node, name, '0123abcd'), 'code')
      utimesSync(join(node, name), 1000 + age, 1000 + age)
      return name
    }
    const uid = process.getuid?.() ?? 0
    // Node names it with V8's cache tag, which covers V8's flags: the launcher's own
    // (bin/v8-flags.ts) included, so the tag is asked of a node that sets them as the launcher
    // does, at run time (on Node 24 the tag differs from that of `node --liftoff-only`).
    const flags = JSON.stringify(commandV8Flags([], undefined))
    const tag = execFileSync(process.execPath, [
      '-p',
      `const v8 = require('node:v8'); for (const flag of ${flags}) v8.setFlagsFromString(flag); v8.cachedDataVersionTag().toString(16).padStart(8, '0')`,
    ])
      .toString()
      .trim()
    const current = folder(`${process.version}-${process.arch}-${tag}-${uid}`, 0)
    const old = ['a', 'b', 'c', 'd', 'e'].map((letter, i) =>
      folder(`v0.${letter}-x64-00000000-${uid}`, 10 + i),
    )
    // Neither a symbolic link (nor what it points to), nor a file, nor another user's folder goes.
    const outside = join(c.p.home, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'kept'), 'not a cache')
    symlinkSync(outside, join(node, 'v0.link-x64-00000000-0'))
    lutimesSync(join(node, 'v0.link-x64-00000000-0'), 1, 1)
    writeFileSync(join(node, 'v0.file'), 'a file')
    utimesSync(join(node, 'v0.file'), 1, 1)
    const foreign = process.getuid?.() === 0 ? [folder('v0.foreign-x64-00000000-65534', 1)] : []
    for (const name of foreign) chownSync(join(node, name), 65534, 65534)
    const before = new Set(readdirSync(node))

    const first = await c.run(['--help'])
    expect(first.code, first.stderr).toBe(0)
    expect(stateOf(first.stderr)).toBe('miss')
    // What Node 22+ made in this run (its current folder, already there) is not pruned either.
    const made = readdirSync(node).filter((name) => !before.has(name))
    expect(readdirSync(node).sort()).toEqual(
      [current, ...old.slice(2), 'v0.link-x64-00000000-0', 'v0.file', ...foreign, ...made].sort(),
    )
    expect(readdirSync(join(node, current))).toContain('0123abcd')
    expect(readdirSync(outside)).toEqual(['kept'])

    // A run that has its cache prunes nothing.
    const extra = old.slice(0, 2).map((name) => folder(name, 0))
    const second = await c.run(['--help'])
    expect(stateOf(second.stderr)).toBe('hit')
    expect(readdirSync(node)).toEqual(expect.arrayContaining(extra))
  })

  it('a truncated or corrupted cache file is ignored and rewritten', async () => {
    const c = await cached()
    expect(stateOf((await c.run(['--help'])).stderr)).toBe('miss')
    const file = join(c.dir, c.entries()[0] as string)
    const good = readFileSync(file)
    writeFileSync(file, good.subarray(0, good.length >> 1))
    const truncated = await c.run(['--help'])
    expect(truncated.code, truncated.stderr).toBe(0)
    expect(truncated.stdout).toContain('Usage: tau')
    expect(stateOf(truncated.stderr)).toBe('rejected')
    expect(stateOf((await c.run(['--help'])).stderr)).toBe('hit')

    const flipped = Buffer.from(readFileSync(file))
    for (let i = 0; i < 64; i++) flipped[i] = (flipped[i] ?? 0) ^ 0xff
    writeFileSync(file, flipped)
    const corrupted = await c.run(['--help'])
    expect(corrupted.code, corrupted.stderr).toBe(0)
    expect(stateOf(corrupted.stderr)).toBe('rejected')
    expect(stateOf((await c.run(['--help'])).stderr)).toBe('hit')
  })

  it('a directory others can write, a symlinked one or one of another user is refused', async () => {
    const c = await cached()
    mkdirSync(c.dir, { recursive: true })
    chmodSync(c.dir, 0o770)
    const shared = await c.run(['--help'])
    expect(shared.code, shared.stderr).toBe(0)
    expect(shared.stderr).toMatch(/compile cache refused: .* is writable by group or others/)
    expect(readdirSync(c.dir)).toEqual([])

    const elsewhere = join(c.p.home, 'elsewhere')
    mkdirSync(elsewhere, { mode: 0o700 })
    const linked = await cached()
    mkdirSync(linked.xdg)
    symlinkSync(elsewhere, linked.dir)
    const viaLink = await linked.run(['--help'])
    expect(viaLink.code, viaLink.stderr).toBe(0)
    expect(viaLink.stderr).toMatch(/compile cache refused: .* is a symbolic link/)
    expect(readdirSync(elsewhere)).toEqual([])

    const foreign = await cached()
    mkdirSync(foreign.dir, { recursive: true, mode: 0o700 })
    // Another user's directory: made so by root (the suite runs as root in CI); as another user,
    // the tests' own directory under a root-owned parent stands in (`/` is root's).
    const other = process.getuid?.() === 0 ? foreign.dir : '/'
    if (other === foreign.dir) chownSync(foreign.dir, 65534, 65534)
    const owned = await foreign.run(['--help'], other === '/' ? { XDG_CACHE_HOME: '/..' } : {})
    expect(owned.code, owned.stderr).toBe(0)
    expect(owned.stderr).toMatch(/compile cache refused: /)

    const off = await c.run(['--help'], { TAU_NO_COMPILE_CACHE: '1' })
    expect(stateOf(off.stderr)).toBe('off')
  })

  it("the cached body makes a model call (its own undici) and imports an external: an MCP server's tool (the SDK)", async () => {
    const c = await cached()
    const server = await model(
      c.p,
      { text: 'warm' },
      { toolCalls: [{ id: 'call_pid', name: 'mcp__fault__pid', input: {} }] },
      { text: 'Done.' },
    )
    const warm = await c.run(['start', '-p', 'hi', '--output-format', 'json'], { OPENAI_API_KEY: 'sk-test' })
    expect(warm.code, warm.stderr).toBe(0)
    expect(stateOf(warm.stderr)).toBe('miss')
    await c.p.write({
      'tau.config.json': JSON.stringify({
        preset: 'coding',
        model: 'openai:scripted-model',
        providers: { openai: { baseURL: `${server.url}/v1` } },
        mcpServers: { fault: { command: process.execPath, args: [FAULT_SERVER, '--no-resources'] } },
        permissions: { allow: ['mcp__fault__pid'] },
      }),
    })
    const result = await c.run(['start', '-p', 'the pid', '--output-format', 'json'], {
      OPENAI_API_KEY: 'sk-test',
    })
    expect(result.code, result.stderr).toBe(0)
    expect(stateOf(result.stderr)).toBe('hit')
    // stdout stays protocol: the one JSON result, nothing of the launcher's.
    const lines = result.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string).result).toBe('Done.')
    // The tool ran in the MCP server (the SDK imported by the cached body): its answer went back.
    const last = server.requests.filter((request) => request.method === 'POST').at(-1)
    expect(JSON.stringify(last?.body)).toContain('"role":"tool"')
  })

  it('a TypeScript config loads from the cached body (jiti), and stack traces map to the sources', async () => {
    const c = await cached({
      'tau.config.ts':
        "import { defineConfig } from 'tau-agent'\nexport default defineConfig({ preset: 'minimal', model: 'ollama:from-ts' })\n",
    })
    expect(stateOf((await c.run(['config'])).stderr)).toBe('miss')
    const shown = await c.run(['config'])
    expect(shown.code, shown.stderr).toBe(0)
    expect(stateOf(shown.stderr)).toBe('hit')
    expect(shown.stdout).toContain('ollama:from-ts')

    await c.p.write({ 'tau.config.ts': "export default { preset: 'coding', model: 12 }\n" })
    const plain = await c.run(['start', '-p', 'hi', '--debug'])
    expect(plain.stderr).toMatch(STACK_LINE)
    expect(plain.stderr).toMatch(/dist\/bin\/cli\.js:\d+:\d+/)
    const mapped = await c.run(['start', '-p', 'hi', '--debug'], { NODE_OPTIONS: '--enable-source-maps' })
    expect(mapped.stderr).toContain('TAU_CONFIG_INVALID')
    expect(mapped.stderr).toMatch(/kernel\/\S+\.ts:\d+:\d+/)
    expect(mapped.stderr).not.toMatch(/dist\/bin\/cli\.js:\d+/)
    // Still mapped after a full collection (the config runs one as it loads): Node holds a
    // CommonJS module's source map only as long as the module itself (bin/tau.ts, bodyLoader).
    await c.p.write({
      'tau.config.ts': "globalThis.gc?.()\nexport default { preset: 'coding', model: 12 }\n",
    })
    const collected = await c.run(['start', '-p', 'hi', '--debug'], {
      NODE_OPTIONS: '--enable-source-maps --expose-gc',
    })
    expect(collected.stderr).toContain('TAU_CONFIG_INVALID')
    expect(collected.stderr).toMatch(/kernel\/\S+\.ts:\d+:\d+/)
    expect(collected.stderr).not.toMatch(/dist\/bin\/cli\.js:\d+/)
  })

  it('the launcher reads the body and the cache into memory V8 maps itself, not malloc (readMapped)', async () => {
    const p = await project()
    const file = join(p.home, 'three-megabytes')
    const bytes = Buffer.alloc(3 * 1048576 + 17)
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251
    writeFileSync(file, bytes)
    const fd = openSync(file, 'r')
    try {
      const read = readMapped(fd, bytes.length)
      expect(read.equals(bytes)).toBe(true)
      // A resizable ArrayBuffer's memory is V8's own mapping: freeing it never moves glibc's
      // mmap and trim thresholds (docs/benchmarks.md, "the young generation").
      expect((read.buffer as ArrayBuffer & { resizable?: boolean }).resizable).toBe(true)
      // A file shorter than asked gives what it has.
      expect(readMapped(fd, bytes.length + 100).length).toBe(bytes.length)
    } finally {
      closeSync(fd)
    }
  })
})
