/**
 * What a config or plugin module imports, read before it is loaded (kernel/module-loader.ts):
 * whether Node can import it itself, and which of tau's own package ids (`tau-agent`, its
 * subpaths, `tau`) its files name. Only the module's own files are read (its relative imports,
 * followed); a package it imports is looked at through its package.json alone.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { dirname, extname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A specifier naming the running tau: `tau`, `tau-agent` or one of their subpaths. */
const PACKAGE_ID = /^tau(?:-agent)?(?:\/|$)/
/** Every string literal naming a package id, whatever the syntax around it (TypeScript too). */
const PACKAGE_ID_LITERAL = /['"`](tau(?:-agent)?(?:\/[\w.-]+)*)['"`]/g
/** Relative specifiers in any syntax (import, export ... from, import(), require()). */
const RELATIVE_LITERAL = /['"`](\.\.?\/[^'"`\n]*)['"`]/g
const SCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx']

export interface ModuleGraph {
  /**
   * True when Node can load the whole graph natively: ES modules only (`.mjs`, or `.js` under a
   * package whose type is module), every import a literal, no TypeScript or JSON file, no
   * package that depends on tau itself (it may import ids of the running tau not named here).
   * The package ids named are Node's to import too, once mapped (kernel/package-hooks.ts).
   */
  readonly native: boolean
  /**
   * The package ids the graph's files name, or undefined when that is not known: a package it
   * imports depends on tau, or a relative import does not resolve to a file.
   */
  readonly packageIds: ReadonlySet<string> | undefined
  /** The graph's own script files read (absolute paths): where its package ids are named. */
  readonly files: readonly string[]
}

/** Whether the nearest package.json above a `.js` file says it is an ES module. */
function isModuleJs(file: string): boolean {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module'
      } catch {
        return false
      }
    }
    if (dirname(dir) === dir) return false
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** A relative import as the transpiler resolves it (extensionless and `.js` for `.ts` allowed). */
function resolveRelative(specifier: string, fromFile: string): string | undefined {
  const base = resolvePath(dirname(fromFile), specifier)
  if (isFile(base)) return base
  const stem = base.replace(/\.(m|c)?jsx?$/, '')
  for (const ext of SCRIPT_EXTENSIONS) {
    if (isFile(stem + ext)) return stem + ext
    if (isFile(join(base, `index${ext}`))) return join(base, `index${ext}`)
  }
  return undefined
}

/** Whether a bare import names a package that depends on tau (so may import the running tau). */
function dependsOnTau(specifier: string, fromFile: string): boolean {
  const parts = specifier.split('/')
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier)
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json')
    if (existsSync(manifest)) {
      try {
        const json = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>
        return ['dependencies', 'peerDependencies', 'optionalDependencies'].some((field) => {
          const deps = json[field]
          return deps !== null && typeof deps === 'object' && ('tau-agent' in deps || 'tau' in deps)
        })
      } catch {
        return true
      }
    }
    if (dirname(dir) === dir) return false
  }
}

/** Reads a module's graph of its own files; see ModuleGraph. */
export async function readModuleGraph(entry: string): Promise<ModuleGraph> {
  const { init, parse } = await import('es-module-lexer')
  await init
  let native = true
  let known = true
  const packageIds = new Set<string>()
  const seen = new Set<string>()
  const files: string[] = []
  const queue = [entry]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    const ext = extname(file)
    if (!SCRIPT_EXTENSIONS.includes(ext)) {
      native = false // JSON and the like: the transpiler's
      continue
    }
    if (!(ext === '.mjs' || (ext === '.js' && isModuleJs(file)))) native = false
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      native = false
      known = false
      continue
    }
    files.push(file)
    // Over-counting is harmless (an id loaded that is not used); require() is not lexed.
    for (const match of text.matchAll(PACKAGE_ID_LITERAL)) packageIds.add(match[1] as string)
    if (/\brequire\s*\(/.test(text)) known = false
    for (const match of text.matchAll(RELATIVE_LITERAL)) {
      const target = resolveRelative(match[1] as string, file)
      if (target !== undefined && SCRIPT_EXTENSIONS.includes(extname(target))) queue.push(target)
    }
    let imports: ReturnType<typeof parse>[0]
    try {
      imports = parse(text, file)[0]
    } catch {
      // Not lexable: the transpiler loads it (and reports a syntax error, as before).
      native = false
      known = false
      continue
    }
    for (const { n: specifier, d: kind } of imports) {
      if (kind === -2) continue // import.meta
      if (specifier === undefined) {
        native = false // import() of a computed name
        known = false
      } else if (specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('file:')) {
        const path = specifier.startsWith('file:')
          ? fileURLToPath(specifier)
          : resolvePath(dirname(file), specifier)
        if (isFile(path)) {
          // Queued above (a file: URL below); JSON and the like are the transpiler's.
          if (!SCRIPT_EXTENSIONS.includes(extname(path))) native = false
          continue
        }
        // Node needs the exact file; anything else is the transpiler's to resolve.
        native = false
        if (resolveRelative(specifier, file) === undefined) known = false
      } else if (PACKAGE_ID.test(specifier)) {
        // Named in packageIds (the literal scan above); kernel/package-hooks.ts maps it.
      } else if (!isBuiltin(specifier) && dependsOnTau(specifier, file)) {
        native = false
        known = false
      }
    }
    for (const { n: specifier } of imports) {
      if (specifier?.startsWith('file:')) queue.push(fileURLToPath(specifier))
    }
  }
  return { native, packageIds: known ? packageIds : undefined, files }
}
