/**
 * The layering the package's public surface rests on (docs/plugins.md, "Public files"): a plugin
 * imports another plugin only through its public file, `../<plugin>/index.js`; the kernel never
 * imports a plugin; nothing below the presets imports a preset or the SDK entries in sdk/.
 * Every import form counts: static, `export ... from`, dynamic `import()` and `import('...')` types.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const repo = fileURLToPath(new URL('../..', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

interface Import {
  readonly file: string
  readonly line: number
  readonly specifier: string
  /** The imported file, relative to the repository, with '/' separators. */
  readonly target: string
}

/** Each file parsed once for the whole file's tests (the imports and the walk read the same files). */
const parsed = new Map<string, ts.SourceFile>()
function parse(file: string): ts.SourceFile {
  let source = parsed.get(file)
  if (!source) {
    source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    parsed.set(file, source)
  }
  return source
}

/** Every relative module specifier in `file`, with the file it points at. */
function importsOf(file: string): Import[] {
  const source = parse(file)
  const found: Import[] = []
  const add = (node: ts.Node, literal: ts.Expression | undefined) => {
    if (!literal || !ts.isStringLiteralLike(literal) || !literal.text.startsWith('.')) return
    found.push({
      file: relative(repo, file).split(sep).join('/'),
      line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1,
      specifier: literal.text,
      target: relative(repo, resolve(dirname(file), literal.text))
        .split(sep)
        .join('/'),
    })
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier)
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0])
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const describeImport = (i: Import) => `${i.file}:${i.line} imports '${i.specifier}'`

/**
 * The files a static import reaches from `entries` (`import`, `export ... from`; not `import()`,
 * not `import type` / `export type`), each with the chain that reached it first. In the bundled
 * `tau` (one file, scripts/bundle-bin.mjs) esbuild wraps a module reached only through `import()`
 * in a lazy init; whatever the presets reach statically is initialised at every start.
 * (`import { type X } from` counts: with verbatimModuleSyntax it stays a side-effect import.)
 */
function staticallyReached(entries: readonly string[]): Map<string, readonly string[]> {
  const reached = new Map<string, readonly string[]>()
  const queue = entries.map((file) => ({ file, chain: [file] as readonly string[] }))
  while (queue.length > 0) {
    const { file, chain } = queue.shift() as { file: string; chain: readonly string[] }
    if (reached.has(file)) continue
    reached.set(file, chain)
    const source = parse(join(repo, file))
    for (const node of source.statements) {
      const literal =
        ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly
          ? node.moduleSpecifier
          : ts.isExportDeclaration(node) && !node.isTypeOnly
            ? node.moduleSpecifier
            : undefined
      if (!literal || !ts.isStringLiteral(literal) || !literal.text.startsWith('.')) continue
      const target = relative(repo, resolve(dirname(join(repo, file)), literal.text))
        .split(sep)
        .join('/')
        .replace(/\.js$/, '.ts')
      queue.push({ file: target, chain: [...chain, target] })
    }
  }
  return reached
}

describe('public files', () => {
  const pluginFiles = sourceFiles(join(repo, 'plugins'))
  // The plugins' imports, found once for the two tests that read them.
  let found: Import[] | undefined
  const pluginImports = () => {
    found ??= pluginFiles.flatMap(importsOf)
    return found
  }

  it('finds the imports it checks (the parser sees every form)', () => {
    const targets = pluginImports().map((i) => i.target)
    expect(targets).toContain('plugins/agent/index.js')
    expect(targets).toContain('kernel/index.js')
    // A dynamic import (the terminal loads its UI on first use).
    expect(pluginImports()).toContainEqual(
      expect.objectContaining({ file: 'plugins/terminal/index.ts', specifier: './ui.js' }),
    )
  })

  it("a plugin imports another plugin only through its index.js, and the kernel's only through kernel/index.js", () => {
    const offending = pluginImports().filter((i) => {
      const own = i.file.split('/')[1]
      const [top, plugin, ...rest] = i.target.split('/')
      if (top === 'plugins') return plugin !== own && rest.join('/') !== 'index.js'
      if (top === 'kernel') return i.target !== 'kernel/index.js'
      return true // presets/, sdk/, bin/: above the plugins
    })
    expect(offending.map(describeImport)).toEqual([])
  })

  it('the kernel imports no plugin, preset or SDK entry', () => {
    const offending = sourceFiles(join(repo, 'kernel'))
      .flatMap(importsOf)
      .filter((i) => !i.target.startsWith('kernel/'))
    expect(offending.map(describeImport)).toEqual([])
  })

  it('presets import plugins through their index.js and never the SDK entries', () => {
    const offending = sourceFiles(join(repo, 'presets'))
      .flatMap(importsOf)
      .filter((i) => {
        const [top, , ...rest] = i.target.split('/')
        if (top === 'plugins') return rest.join('/') !== 'index.js'
        return top !== 'presets' && i.target !== 'kernel/index.js'
      })
    expect(offending.map(describeImport)).toEqual([])
  })
})

describe('what every start of tau initialises', () => {
  // The coding preset (the default) with the kernel and the CLI: what the bundled command reaches
  // statically at a `tau start`. Command code belongs behind the command's `import()` (issue 22).
  const reached = staticallyReached(['kernel/index.ts', 'kernel/cli/main.ts', 'presets/coding.ts'])

  it('reaches the plugins and their config (the walk sees the preset)', () => {
    expect(reached.has('plugins/agent/run.ts')).toBe(true)
    expect(reached.has('plugins/serve/config.ts')).toBe(true)
  })

  it.each([
    // tau serve: the server, its routes and schemas, the hubs, the web page
    'plugins/serve/server.ts',
    'plugins/serve/routes.ts',
    'plugins/serve/hub.ts',
    'plugins/serve/web/page.ts',
    // tau init and tau plugin new: the scan, the templates
    'plugins/scaffold/commands.ts',
    'plugins/scaffold/project-scan.ts',
    'plugins/scaffold/plugin-template.ts',
    'plugins/scaffold/init-files.ts',
    // what only a configured feature uses: the spans (tracing on), the PostgreSQL store (a database)
    'plugins/telemetry/spans.ts',
    'plugins/session-postgres/postgres-store.ts',
    // tau acp and the terminal UI
    'plugins/acp/acp-server.ts',
    'plugins/terminal/ui.ts',
  ])('does not reach %s', (file) => {
    expect(existsSync(join(repo, file)), `${file} was moved: update this list`).toBe(true)
    expect(reached.get(file)?.join(' -> ')).toBeUndefined()
  })

  it("reaches no plugin's second public file (public.ts: what the root entry re-exports besides index.ts)", () => {
    expect([...reached.keys()].filter((file) => file.endsWith('/public.ts'))).toEqual([])
  })
})
