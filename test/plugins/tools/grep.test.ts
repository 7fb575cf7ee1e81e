import { mkdirSync } from 'node:fs'
import { mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { createGrepTool, grepTool } from '../../../plugins/tools/builtins/grep.js'
import {
  compilePattern,
  matchText,
  requiredLiteral,
  requiredLiterals,
} from '../../../plugins/tools/grep-match.js'
import { createHarness, delegatingEnvironment, type Harness } from './tool-harness.js'

let h: Harness

async function put(name: string, content: string | Buffer, age = 0): Promise<void> {
  const file = join(h.dir, name)
  await mkdir(join(file, '..'), { recursive: true })
  await writeFile(file, content)
  const t = Date.now() / 1000 - age
  await utimes(file, t, t)
}

beforeEach(async () => {
  h = await createHarness()
  await put('src/app.ts', 'import { x } from "./x"\nexport function main() {\n  return x + 1\n}\n', 30)
  await put('src/util.js', 'export function helper() {\n  // TODO: remove\n  return 42\n}\n', 10)
  await put('src/x.py', 'def main():\n    return "TODO"\n', 20)
  await put('docs/guide.md', '# Guide\n\nCall main() first.\n', 40)
})
afterEach(async () => {
  await h.cleanup()
})

describe('Grep', () => {
  it('lists matching files by default, newest first', async () => {
    const result = await h.run(grepTool, { pattern: 'main' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('Found 3 files:\nsrc/x.py\nsrc/app.ts\ndocs/guide.md')
  })

  it('offset skips the first entries or lines (paging with head_limit); context is -C', async () => {
    const files = await h.run(grepTool, { pattern: 'main', offset: 1, head_limit: 5 })
    expect(files.text).toBe('Found 3 files:\nsrc/app.ts\ndocs/guide.md')
    const lines = await h.run(grepTool, { pattern: 'TODO', output_mode: 'content', offset: 1 })
    expect(lines.text).toBe('src/x.py:2:    return "TODO"')
    const viaContext = await h.run(grepTool, {
      pattern: 'TODO',
      output_mode: 'content',
      path: 'src/x.py',
      context: 1,
    })
    const viaC = await h.run(grepTool, { pattern: 'TODO', output_mode: 'content', path: 'src/x.py', '-C': 1 })
    expect(viaContext.text).toBe(viaC.text)
    expect(viaContext.text.split('\n').length).toBeGreaterThan(1)
  })

  it('-o prints only the matching parts, one a line', async () => {
    const result = await h.run(grepTool, { pattern: 'TO+DO', output_mode: 'content', '-o': true })
    expect(result.text).toBe('src/util.js:2:TODO\nsrc/x.py:2:TODO')
    const refused = await h.run(grepTool, {
      pattern: 'a',
      output_mode: 'content',
      '-o': true,
      multiline: true,
    })
    expect(refused.isError).toBe(true)
  })

  it('shows matching lines with line numbers in content mode', async () => {
    const result = await h.run(grepTool, { pattern: 'TODO', output_mode: 'content' })
    expect(result.text).toBe('src/util.js:2:  // TODO: remove\nsrc/x.py:2:    return "TODO"')
    const plain = await h.run(grepTool, {
      pattern: 'TODO',
      output_mode: 'content',
      '-n': false,
      path: 'src/x.py',
    })
    expect(plain.text).toBe('src/x.py:    return "TODO"')
  })

  it('shows context lines with -A, -B and -C, separating groups with --', async () => {
    await put('ctx.txt', 'a\nb\nMATCH1\nc\nd\ne\nf\nMATCH2\ng\n')
    const result = await h.run(grepTool, {
      pattern: 'MATCH',
      path: 'ctx.txt',
      output_mode: 'content',
      '-C': 1,
    })
    expect(result.text).toBe(
      'ctx.txt-2-b\nctx.txt:3:MATCH1\nctx.txt-4-c\n--\nctx.txt-7-f\nctx.txt:8:MATCH2\nctx.txt-9-g',
    )
    const after = await h.run(grepTool, {
      pattern: 'MATCH1',
      path: 'ctx.txt',
      output_mode: 'content',
      '-A': 2,
    })
    expect(after.text).toBe('ctx.txt:3:MATCH1\nctx.txt-4-c\nctx.txt-5-d')
    const before = await h.run(grepTool, {
      pattern: 'MATCH2',
      path: 'ctx.txt',
      output_mode: 'content',
      '-B': 1,
    })
    expect(before.text).toBe('ctx.txt-7-f\nctx.txt:8:MATCH2')
  })

  it('counts matching lines per file', async () => {
    await put('many.txt', 'x\nx x\ny\nx\n')
    const result = await h.run(grepTool, { pattern: 'x', path: 'many.txt', output_mode: 'count' })
    expect(result.text).toBe('many.txt:3\n\nFound 3 matching lines in 1 file.')
  })

  it('is case-insensitive with -i', async () => {
    expect((await h.run(grepTool, { pattern: 'todo' })).text).toMatch(/^No matches/)
    expect((await h.run(grepTool, { pattern: 'todo', '-i': true })).text).toBe(
      'Found 2 files:\nsrc/util.js\nsrc/x.py',
    )
  })

  it('with -i finds every letter case of a literal (the pre-check on bytes loses none)', async () => {
    await writeFile(join(h.dir, 'cases.txt'), 'x USESTATE\ny UseState\nz usestate\nw use_state\n')
    const result = await h.run(grepTool, {
      pattern: 'usestate',
      path: 'cases.txt',
      '-i': true,
      output_mode: 'count',
    })
    expect(result.text).toMatch(/^cases\.txt:3\n/)
    // In unicode mode (\p{...} in the pattern) case-insensitive matching folds ſ to s: still found.
    await writeFile(join(h.dir, 'long-s.txt'), 'uſeſtate\n')
    const folded = await h.run(grepTool, {
      pattern: 'u\\p{L}eState',
      path: 'long-s.txt',
      '-i': true,
      output_mode: 'count',
    })
    expect(folded.text).toMatch(/^long-s\.txt:1\n/)
  })

  it('filters by glob (with ! to exclude) and by type', async () => {
    expect((await h.run(grepTool, { pattern: 'main', glob: '*.ts' })).text).toBe('Found 1 file:\nsrc/app.ts')
    expect((await h.run(grepTool, { pattern: 'main', glob: '*.{ts,py}' })).text).toBe(
      'Found 2 files:\nsrc/x.py\nsrc/app.ts',
    )
    expect((await h.run(grepTool, { pattern: 'main', glob: '!*.md' })).text).toBe(
      'Found 2 files:\nsrc/x.py\nsrc/app.ts',
    )
    expect((await h.run(grepTool, { pattern: 'main', glob: 'docs/*' })).text).toBe(
      'Found 1 file:\ndocs/guide.md',
    )
    expect((await h.run(grepTool, { pattern: 'main', type: 'py' })).text).toBe('Found 1 file:\nsrc/x.py')
    expect((await h.run(grepTool, { pattern: 'main', type: 'md' })).text).toBe('Found 1 file:\ndocs/guide.md')
    const unknown = await h.run(grepTool, { pattern: 'main', type: 'cobol' })
    expect(unknown.isError).toBe(true)
    expect(unknown.text).toMatch(/Unknown type 'cobol'\. Known types: .*rust/)
  })

  it('matches line by line unless multiline is on', async () => {
    await put('fn.ts', 'function foo(\n  a: number,\n) {}\n')
    expect((await h.run(grepTool, { pattern: 'foo\\(\\s+a', path: 'fn.ts' })).text).toMatch(/^No matches/)
    const multi = await h.run(grepTool, {
      pattern: 'foo\\(.*?number',
      path: 'fn.ts',
      multiline: true,
      output_mode: 'content',
    })
    expect(multi.text).toBe('fn.ts:1:function foo(\nfn.ts:2:  a: number,')
    expect((await h.run(grepTool, { pattern: '^  a', path: 'fn.ts', output_mode: 'count' })).text).toMatch(
      /^fn\.ts:1/,
    )
  })

  it('respects .gitignore and skips binary and oversized files', async () => {
    await put('.gitignore', 'ignored/\n')
    await put('ignored/a.ts', 'needle\n')
    await put('bin.dat', Buffer.concat([Buffer.from('needle'), Buffer.from([0, 1, 2])]))
    await put('big.txt', `needle\n${'x'.repeat(2000)}\n`)
    await put('small.txt', 'needle\n')
    const result = await h.run(createGrepTool({ maxFileBytes: 1000 }), { pattern: 'needle' })
    expect(result.text).toBe('Found 1 file:\nsmall.txt')
  })

  it('says why a file named as path was not searched', async () => {
    await put('bin.dat', Buffer.from([0x6e, 0, 0x65]))
    await put('big.txt', 'x'.repeat(2000))
    expect((await h.run(grepTool, { pattern: 'n', path: 'bin.dat' })).text).toBe(
      'bin.dat was not searched: it is a binary file.',
    )
    expect(
      (await h.run(createGrepTool({ maxFileBytes: 1000 }), { pattern: 'x', path: 'big.txt' })).text,
    ).toMatch(/^big\.txt was not searched: it is larger than/)
  })

  it('cuts results at head_limit and says more may exist', async () => {
    for (let i = 0; i < 30; i++) await put(`many/f${i}.txt`, 'hit\nhit\n')
    const files = await h.run(grepTool, { pattern: 'hit', path: 'many', head_limit: 5 })
    expect(files.text.split('\n').filter((l) => l.startsWith('many/'))).toHaveLength(5)
    expect(files.text).toMatch(/stopped at head_limit/)
    expect(files.text).toMatch(/More may exist/)
    const lines = await h.run(grepTool, {
      pattern: 'hit',
      path: 'many',
      head_limit: 3,
      output_mode: 'content',
    })
    expect(lines.text.split('\n').filter((l) => l.includes(':hit'))).toHaveLength(3)
    expect(lines.text).toMatch(/Output cut at head_limit=3/)
  })

  it('cuts very long matching lines', async () => {
    await put('min.js', `${'a'.repeat(1000)}needle${'b'.repeat(1000)}\n`)
    const result = await h.run(grepTool, { pattern: 'needle', path: 'min.js', output_mode: 'content' })
    expect(result.text).toMatch(/^min\.js:1:a{500} \[\.\.\. 1506 more characters\]$/)
  })

  it('reports an invalid regular expression as an error the model can fix', async () => {
    const result = await h.run(grepTool, { pattern: 'foo(' })
    expect(result.isError).toBe(true)
    expect(result.text).toMatch(/Invalid regular expression "foo\(".*escape literal/)
  })

  it('stays inside the workspace: no symlinked dirs followed, outside paths refused', async () => {
    const outside = `${h.dir}-outside`
    await mkdir(outside)
    try {
      await writeFile(join(outside, 'secret.txt'), 'needle\n')
      await symlink(outside, join(h.dir, 'linked'))
      await symlink(join(outside, 'secret.txt'), join(h.dir, 'linked-file.txt'))
      expect((await h.run(grepTool, { pattern: 'needle' })).text).toMatch(/^No matches/)
      for (const path of ['linked', 'linked-file.txt', '..', outside]) {
        const result = await h.run(grepTool, { pattern: 'needle', path })
        expect(result.isError, path).toBe(true)
        expect(result.text).toMatch(/outside the workspace/)
      }
      expect((await h.run(grepTool, { pattern: 'needle', glob: '../**' })).isError).toBe(true)
    } finally {
      await rm(outside, { recursive: true, force: true })
    }
  })

  it('works through any environment, not only the local one (env.readdir / env.readFile)', async () => {
    const generic = await createHarness({
      env: (dir) => delegatingEnvironment(new LocalEnvironment({ cwd: dir })),
    })
    try {
      await writeFile(join(generic.dir, '.gitignore'), 'out/\n')
      await mkdir(join(generic.dir, 'out'))
      await writeFile(join(generic.dir, 'out', 'x.txt'), 'needle\n')
      await writeFile(join(generic.dir, 'a.txt'), 'hay\nneedle\n')
      await writeFile(join(generic.dir, 'b.bin'), Buffer.from([0x6e, 0x65, 0x65, 0x64, 0x6c, 0x65, 0]))
      const result = await generic.run(grepTool, { pattern: 'needle', output_mode: 'content' })
      expect(result.text).toBe('a.txt:2:needle')
    } finally {
      await generic.cleanup()
    }
  })

  it("obeys the environment's denyRead while it reads the host's disk directly (filesOnHost)", async () => {
    const policy = {
      filesystem: { allowWrite: [], denyWrite: [], denyRead: ['vault'] },
      network: { mode: 'none' as const, allowedDomains: [], deniedDomains: [] },
    }
    const fenced = await createHarness({
      env: (dir) => {
        mkdirSync(join(dir, 'vault'))
        return new LocalEnvironment({ cwd: dir, policy })
      },
    })
    try {
      expect(fenced.env.capabilities.filesOnHost).toBe(true)
      await writeFile(join(fenced.dir, 'vault', 'key.txt'), 'needle=hidden\n')
      await writeFile(join(fenced.dir, 'a.txt'), 'needle=visible\n')
      const result = await fenced.run(grepTool, { pattern: 'needle', output_mode: 'content' })
      expect(result.text).toBe('a.txt:1:needle=visible')
      const count = await fenced.run(grepTool, { pattern: 'needle', glob: '**/*', output_mode: 'count' })
      expect(count.text).not.toContain('vault')
    } finally {
      await fenced.cleanup()
    }
  })

  it('reads through the environment when it has files on the host but cannot say what it denies (a wrapper)', async () => {
    const policy = {
      filesystem: { allowWrite: [], denyWrite: [], denyRead: ['vault'] },
      network: { mode: 'none' as const, allowedDomains: [], deniedDomains: [] },
    }
    const wrapped = await createHarness({
      env: (dir) => {
        mkdirSync(join(dir, 'vault'))
        const inner = new LocalEnvironment({ cwd: dir, policy })
        // A wrapper that keeps filesOnHost but does not pass readDenied on.
        return { ...delegatingEnvironment(inner), capabilities: inner.capabilities }
      },
    })
    try {
      expect(wrapped.env.capabilities.filesOnHost).toBe(true)
      expect(wrapped.env.readDenied).toBeUndefined()
      await writeFile(join(wrapped.dir, 'vault', 'key.txt'), 'needle=hidden\n')
      await writeFile(join(wrapped.dir, 'a.txt'), 'needle=visible\n')
      const result = await wrapped.run(grepTool, { pattern: 'needle', output_mode: 'content' })
      expect(result.text).toBe('a.txt:1:needle=visible')
    } finally {
      await wrapped.cleanup()
    }
  })

  it('stops when the turn is aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const result = await h.run(grepTool, { pattern: 'main' }, { signal: controller.signal })
    expect(result).toMatchObject({ isError: true, text: '<tool_use_error>Cancelled.</tool_use_error>' })
  })

  it('has Claude Code parameters and is read-only', () => {
    expect(Object.keys((grepTool.inputSchema as { properties: object }).properties)).toEqual([
      'pattern',
      'path',
      'glob',
      'type',
      'output_mode',
      '-i',
      '-n',
      '-A',
      '-B',
      '-C',
      'context',
      '-o',
      'multiline',
      'head_limit',
      'offset',
    ])
    expect(grepTool.annotations.readOnly).toBe(true)
    expect(grepTool.access).toBe('read')
    expect(grepTool.permissionTarget?.({ pattern: 'x' })).toBe('.')
  })
})

describe('Grep matching', () => {
  it('finds the literal every match must contain, or none when unsure', () => {
    expect(requiredLiteral('hello')).toBe('hello')
    expect(requiredLiteral('function\\s+handleRequest')).toBe('handleRequest')
    expect(requiredLiteral('foo\\.bar\\(')).toBe('foo.bar(')
    expect(requiredLiteral('colou?r')).toBe('colo')
    expect(requiredLiteral('ab*c')).toBeUndefined()
    expect(requiredLiterals('function\\s+\\w+Sync\\(')).toEqual(['function', 'Sync('])
    expect(requiredLiteral('foo|bar')).toBeUndefined()
    expect(requiredLiteral('(foo|bar)baz')).toBe('baz')
    expect(requiredLiteral('[abc]def')).toBe('def')
    expect(requiredLiteral('x{0,3}yz')).toBe('yz')
    expect(requiredLiteral('\\x41BC')).toBe('BC')
    expect(requiredLiteral('\\d+')).toBeUndefined()
  })

  it('never rejects a file that matches because of the literal pre-check', () => {
    const cases: Array<[string, string]> = [
      ['colou?r', 'the color red'],
      ['ab*c', 'ac'],
      ['(foo|bar)baz', 'barbaz'],
      ['x{0,3}yz', 'yz'],
      ['a+b', 'aaab'],
      ['\\bword\\b', 'a word here'],
    ]
    for (const [source, text] of cases) {
      const pattern = compilePattern(source)
      for (const literal of pattern.required) expect(Buffer.from(text).indexOf(literal), source).not.toBe(-1)
      expect(matchText(text, pattern).lines, source).toEqual([0])
    }
  })

  it('takes leading inline flags as ripgrep users write them', () => {
    expect(matchText('Hello', compilePattern('(?i)hello')).lines).toEqual([0])
  })
})

describe('case-insensitive pre-check', () => {
  it('spells a piece of the literal in every case, avoiding s and k (which also match ſ and the Kelvin sign)', async () => {
    const { caseSpellings } = await import('../../../plugins/tools/grep-match.js')
    expect(caseSpellings('abc')).toEqual(['abc', 'abC', 'aBc', 'aBC', 'Abc', 'AbC', 'ABc', 'ABC'])
    const state = caseSpellings('use_state')
    expect(state).toHaveLength(8)
    expect(state).toContain('tat')
    expect(state).toContain('TAT')
    expect(caseSpellings('sks')).toEqual([])
    expect(caseSpellings('a1')).toEqual(['a1', 'A1'])
  })
})
