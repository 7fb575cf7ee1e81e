import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { textOf } from '../../../kernel/index.js'
import memory, {
  addMemory,
  findImports,
  flatten,
  loadBootstrapMemory,
  loadMemoryFile,
  type MemoryProblem,
  memoryServiceRef,
} from '../../../plugins/memory/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { allowAll, harness, toolText } from '../agent/helpers.js'
import { runCommand } from '../skills/helpers.js'

let temp: string
beforeEach(async () => {
  temp = await realpath(await mkdtemp(join(tmpdir(), 'tau-memory-')))
})
afterEach(async () => {
  await rm(temp, { recursive: true, force: true })
})

async function put(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, text)
  return path
}

/** outside/ (not loaded) > repo/ (.git) > repo/app/ (cwd) */
async function layout() {
  const home = join(temp, 'home')
  const tauHome = join(temp, 'tau-home')
  const outside = join(temp, 'outside')
  const repo = join(outside, 'repo')
  const app = join(repo, 'app')
  await mkdir(join(repo, '.git'), { recursive: true })
  await put(join(outside, 'TAU.md'), 'OUTSIDE THE REPO')
  await put(join(tauHome, 'TAU.md'), 'USER TAU')
  await put(join(tauHome, 'CLAUDE.md'), 'USER CLAUDE')
  await put(join(repo, 'AGENTS.md'), 'REPO AGENTS')
  await put(join(app, 'TAU.md'), 'APP TAU')
  await put(join(app, 'CLAUDE.md'), 'APP CLAUDE')
  await put(join(app, 'src/TAU.md'), 'SRC TAU (subdirectory)')
  return { home, tauHome, outside, repo, app }
}

describe('memory: bootstrap files', () => {
  it('loads user level first, then the repository root down to the working directory, TAU/AGENTS/CLAUDE in each', async () => {
    const l = await layout()
    const loaded = await loadBootstrapMemory({ cwd: l.app, tauHome: l.tauHome, home: l.home })
    expect(loaded.sources.map((s) => [s.scope, s.file.path])).toEqual([
      ['user', join(l.tauHome, 'TAU.md')],
      ['user', join(l.tauHome, 'CLAUDE.md')],
      ['project', join(l.repo, 'AGENTS.md')],
      ['project', join(l.app, 'TAU.md')],
      ['project', join(l.app, 'CLAUDE.md')],
    ])
    expect(loaded.directories).toEqual([l.repo, l.app])
  })

  it('walks to the filesystem root when there is no repository, and includes a file reached twice once', async () => {
    const dir = join(temp, 'norepo', 'proj')
    await put(join(temp, 'norepo', 'TAU.md'), 'PARENT')
    await put(join(dir, 'AGENTS.md'), 'AGENTS')
    await symlink(join(dir, 'AGENTS.md'), join(dir, 'CLAUDE.md'))
    const loaded = await loadBootstrapMemory({ cwd: dir, tauHome: join(temp, 'th'), home: temp })
    expect(loaded.sources.map((s) => s.file.path)).toEqual([
      join(temp, 'norepo', 'TAU.md'),
      join(dir, 'AGENTS.md'),
    ])
    expect(loaded.directories[0]).toBe('/')
  })

  it('puts them in the system prompt in that order, with the progress file and the memory tool note', async () => {
    const l = await layout()
    await put(join(l.app, '.tau/progress.md'), '## Done\n- parser\n## Next\n- the printer')
    const h = await harness({
      plugins: [memory],
      cwd: l.app,
      turns: [{ text: 'ok' }],
      config: { memory: { homeDir: l.home } },
    })
    // The harness's TAU_HOME is its own: write the user file there.
    await put(join(h.kernel.paths.tauHome, 'TAU.md'), 'USER TAU')
    await h.run(h.session(), 'hi')
    const system = textOf(h.scripted.requests[0]!.messages[0]!)
    const order = [
      'USER TAU',
      'REPO AGENTS',
      'APP TAU',
      'APP CLAUDE',
      '# Memory directory',
      '# Progress notes',
      '- the printer',
    ]
    const at = order.map((s) => system.indexOf(s))
    expect(at.every((n) => n >= 0)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
    expect(system).not.toContain('OUTSIDE THE REPO')
    expect(system).not.toContain('SRC TAU')
    expect(system).toContain('.tau/progress.md')
  })

  it('says there is no progress file yet, and can be turned off', async () => {
    const h = await harness({ plugins: [memory], turns: [{ text: 'ok' }] })
    await h.run(h.session(), 'hi')
    const system = textOf(h.scripted.requests[0]!.messages[0]!)
    expect(system).toContain('There is no progress file yet')
    const off = await harness({
      plugins: [memory],
      turns: [{ text: 'ok' }],
      config: { memory: { progress: { enabled: false }, tool: { enabled: false } } },
    })
    await off.run(off.session(), 'hi')
    const text = textOf(off.scripted.requests[0]!.messages[0]!)
    expect(text).not.toContain('# Progress notes')
    expect(text).not.toContain('# Memory directory')
    expect(off.scripted.requests[0]!.tools?.some((t) => t.name === 'memory')).not.toBe(true)
  })

  it("adds a subdirectory's memory file to the first Read under it (postToolUse), once", async () => {
    const l = await layout()
    const fakeRead = defineTool({
      name: 'Read',
      description: 'read',
      input: z.object({ file_path: z.string() }),
      annotations: { readOnly: true },
      execute: async ({ file_path }) => `content of ${file_path}`,
    })
    const h = await harness({
      plugins: [memory],
      cwd: l.app,
      decide: allowAll,
      tools: [fakeRead],
      turns: [
        { toolCalls: [{ id: 'r1', name: 'Read', input: { file_path: 'src/a.ts' } }] },
        { toolCalls: [{ id: 'r2', name: 'Read', input: { file_path: join(l.app, 'src/b.ts') } }] },
        { toolCalls: [{ id: 'r3', name: 'Read', input: { file_path: 'README.md' } }] },
        { text: 'done' },
      ],
      config: { memory: { homeDir: l.home } },
    })
    const events = await h.run(h.session(), 'read things')
    expect(toolText(events, 'r1')).toContain('content of src/a.ts')
    expect(toolText(events, 'r1')).toContain(`Contents of ${join(l.app, 'src/TAU.md')}`)
    expect(toolText(events, 'r1')).toContain('SRC TAU (subdirectory)')
    expect(toolText(events, 'r2')).not.toContain('SRC TAU')
    expect(toolText(events, 'r3')).not.toContain('Contents of')
  })
})

describe('memory: @imports', () => {
  it('finds imports outside code spans and fenced or indented code blocks', () => {
    const text = [
      'See @docs/guide.md and @~/prefs.md, also @./local.md.',
      'Mail me at ada@example.com, not an import.',
      'Inline `@not/this.md` and ``code @nor/this.md`` are text.',
      '```',
      '@inside/fence.md',
      '```',
      '~~~md',
      '@inside/tilde.md',
      '~~~',
      '    @indented/code.md',
      '(@../parent.md)',
    ].join('\n')
    expect(findImports(text)).toEqual(['docs/guide.md', '~/prefs.md', './local.md', '../parent.md'])
  })

  it('resolves relative and ~/ paths and loads imports after their importer', async () => {
    const home = join(temp, 'home')
    const root = await put(join(temp, 'p/TAU.md'), 'ROOT @docs/a.md @~/prefs.md')
    await put(join(temp, 'p/docs/a.md'), 'A imports @../b.md')
    await put(join(temp, 'p/b.md'), 'B')
    await put(join(home, 'prefs.md'), 'PREFS')
    const problems: MemoryProblem[] = []
    const file = await loadMemoryFile(root, { home, problems })
    expect(flatten(file!).map((f) => [f.path, f.depth])).toEqual([
      [root, 0],
      [join(temp, 'p/docs/a.md'), 1],
      [join(temp, 'p/b.md'), 2],
      [join(home, 'prefs.md'), 1],
    ])
    expect(problems).toEqual([])
  })

  it('stops at depth 5 and reports it', async () => {
    for (let i = 0; i < 8; i++) await put(join(temp, `f${i}.md`), `F${i} @f${i + 1}.md`)
    const problems: MemoryProblem[] = []
    const file = await loadMemoryFile(join(temp, 'f0.md'), { home: temp, problems })
    const depths = flatten(file!).map((f) => f.depth)
    expect(depths).toEqual([0, 1, 2, 3, 4, 5])
    expect(problems).toEqual([
      expect.objectContaining({ kind: 'depth', file: join(temp, 'f5.md'), import: 'f6.md' }),
    ])
  })

  it('detects a cycle, reports it, and still loads the rest', async () => {
    await put(join(temp, 'a.md'), 'A @b.md')
    await put(join(temp, 'b.md'), 'B @a.md @c.md')
    await put(join(temp, 'c.md'), 'C')
    const problems: MemoryProblem[] = []
    const file = await loadMemoryFile(join(temp, 'a.md'), { home: temp, problems })
    expect(flatten(file!).map((f) => f.content)).toEqual(['A @b.md', 'B @a.md @c.md', 'C'])
    expect(problems).toEqual([
      expect.objectContaining({ kind: 'cycle', file: join(temp, 'b.md'), import: 'a.md' }),
    ])
  })

  it('reports a missing import without failing', async () => {
    await put(join(temp, 'a.md'), 'A @missing.md')
    const problems: MemoryProblem[] = []
    const file = await loadMemoryFile(join(temp, 'a.md'), { home: temp, problems })
    expect(file?.imports).toEqual([])
    expect(problems).toEqual([expect.objectContaining({ kind: 'missing' })])
  })
})

describe('memory: `tau memory`', () => {
  it('shows the files in load order with their imports and problems', async () => {
    const l = await layout()
    await put(join(l.app, 'TAU.md'), 'APP TAU @docs/style.md @loop.md')
    await put(join(l.app, 'docs/style.md'), 'STYLE')
    await put(join(l.app, 'loop.md'), 'LOOP @TAU.md')
    const h = await harness({ plugins: [memory], cwd: l.app, config: { memory: { homeDir: l.home } } })
    await put(join(h.kernel.paths.tauHome, 'TAU.md'), 'USER')
    const { code, out } = await runCommand(h.kernel, 'memory')
    expect(code).toBe(0)
    const lines = out.split('\n')
    const idx = (s: string) => lines.findIndex((line) => line.includes(s))
    expect(idx(`1. [user] ${join(h.kernel.paths.tauHome, 'TAU.md')}`)).toBeGreaterThan(-1)
    expect(idx(`2. [project] ${join(l.repo, 'AGENTS.md')}`)).toBeGreaterThan(idx('1. [user]'))
    expect(idx(`3. [project] ${join(l.app, 'TAU.md')}`)).toBeGreaterThan(idx('2. [project]'))
    expect(idx(`└ @import ${join(l.app, 'docs/style.md')}`)).toBe(idx('3. [project]') + 1)
    expect(idx(`└ @import ${join(l.app, 'loop.md')}`)).toBe(idx('3. [project]') + 2)
    expect(idx(`4. [project] ${join(l.app, 'CLAUDE.md')}`)).toBeGreaterThan(idx('loop.md'))
    expect(out).toContain('cycle:')
    const json = JSON.parse((await runCommand(h.kernel, 'memory', { json: true })).out)
    expect(json.files[2].imports.map((f: { path: string }) => f.path)).toEqual([
      join(l.app, 'docs/style.md'),
      join(l.app, 'loop.md'),
    ])
  })
})

describe('memory: addMemory', () => {
  it('appends a line to the project or user TAU.md, through the service too', async () => {
    const paths = { projectDir: join(temp, 'p'), tauHome: join(temp, 'h') }
    await put(join(paths.projectDir, 'TAU.md'), '# Notes\n- first')
    expect(await addMemory('# use pnpm, not npm', 'project', paths)).toBe(join(paths.projectDir, 'TAU.md'))
    expect(await readFile(join(paths.projectDir, 'TAU.md'), 'utf8')).toBe(
      '# Notes\n- first\n- use pnpm, not npm\n',
    )
    await addMemory('I like tabs', 'user', paths)
    expect(await readFile(join(paths.tauHome, 'TAU.md'), 'utf8')).toBe('- I like tabs\n')
    await expect(addMemory('  ', 'user', paths)).rejects.toThrow(/empty/)
    const h = await harness({ plugins: [memory] })
    const file = await h.kernel.resolve(memoryServiceRef).addMemory('remember me', 'user')
    expect(await readFile(file, 'utf8')).toBe('- remember me\n')
    expect(file).toBe(join(h.kernel.paths.tauHome, 'TAU.md'))
  })
})
