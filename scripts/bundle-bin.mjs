#!/usr/bin/env node
/**
 * Bundles the `tau` command with esbuild: its body into one file, dist/bin/cli.js, and its
 * launcher, dist/bin/tau.js (the package's `bin`), which answers `tau --version` without
 * compiling the body and, for everything else, compiles it with V8's code cache from an earlier
 * run (bin/tau.ts, bin/compile-cache.ts): the body is a script for that, not an ES module.
 * `tsc -p tsconfig.build.json` (run first by `npm run build`) type-checks nothing here but emits
 * the rest of dist/ — the library entry points (`tau`, `tau/testing`, `tau/scripted-server`) stay
 * one module a file; only the command is bundled.
 *
 * Why: a start of `tau` loaded ~170 of tau's own modules and ~150 of its dependencies', one
 * resolution, read and compile each; on Node 20, which has no compile cache, that was most of its
 * start-up (docs/benchmarks.md). The bundle is built from the TypeScript sources, so it never
 * depends on what tsc emitted.
 *
 * What stays outside (loaded from node_modules at run time, when first used): packages a run
 * loads only for some commands or tools, so that their code is not even parsed at every start —
 * undici's index (WebFetch; its pool is in the body, see undiciInBody), jiti (TypeScript configs), the MCP SDK (MCP servers
 * configured), the ACP SDK (`tau acp`), html-to-text (WebFetch), TypeScript (never: only a cosmiconfig loader tau does not
 * use names it), node-llama-cpp (a `local:` model; an optional peer dependency), the OpenTelemetry SDK and OTLP
 * exporter (an OTLP endpoint set; optional peer dependencies), pg and the DBOS SDK (a database configured; optional peers), Fastify (`tau serve`). fast-glob, ignore and gray-matter are loaded with createRequire, which esbuild
 * leaves alone.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { init as initLexer, parse as lexModule } from 'es-module-lexer'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'bin')
mkdirSync(outdir, { recursive: true })
// Chunks from an earlier build would stay beside the new ones (their names carry a hash).
rmSync(join(outdir, 'chunks'), { recursive: true, force: true })

/**
 * zod's `z.locales` namespace (error messages in some fifty languages, ~250 modules): tau's own
 * schemas never use it (zod's English messages live elsewhere and stay), so the bundle carries an
 * empty namespace in its place. A user's config or plugin imports its own zod, untouched by this.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: 'zod-locales', namespace: 'without-zod-locales' }
        : undefined,
    )
    plugin.onLoad({ filter: /.*/, namespace: 'without-zod-locales' }, () => ({ contents: 'export {}' }))
  },
}

/**
 * esbuild writes ASCII (it escapes other characters), except inside a `String.raw` template, whose
 * raw text it cannot escape: serve's web page is one. One such character makes V8 hold the whole
 * chunk as a two-byte string and Node decode it on its slow path (about 2 ms a start for the
 * 500 kB chunk that page lands in). Each is written as a substitution, `${'\u2026'}`, which a
 * raw template evaluates to the same character. (Only templates without substitutions of their
 * own are touched; the page keeps to that.)
 */
const asciiRawTemplates = {
  name: 'ascii-raw-templates',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/](plugins|kernel|sdk|presets)[\\/].*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8')
      if (!/[\u0080-\u{10ffff}]/u.test(text) || !text.includes('String.raw`')) return undefined
      const contents = text.replace(/String\.raw`[^`]*`/g, (template) =>
        template.includes('${')
          ? template
          : template.replace(/[\u0080-\u{10ffff}]/gu, (c) => `\${'\\u{${c.codePointAt(0).toString(16)}}'}`),
      )
      return { contents, loader: 'ts' }
    })
  },
}

/**
 * The launcher's stand-in for `import()`, six characters like the keyword it replaces, so that
 * every column of the source map stays right.
 */
const IMPORT = '$tauIm'

/**
 * A script compiled by vm.Script has no module loader of its own for `import()`: Node's
 * `USE_MAIN_CONTEXT_DEFAULT_LOADER` is experimental (a warning on stderr at every start) and, on
 * Node 20, lost when the script comes from the code cache ("A dynamic import callback was not
 * specified"). So each `import(` in the body (the externals, and the loader's `import(href)`) is
 * a call of the launcher's `import()`, which resolves from the same directory. The lexer tells
 * the keyword from the same text in a string, template, regular expression or comment.
 */
async function importsThroughLauncher(text) {
  await initLexer
  // Once: the banner's parameter.
  if (text.split(IMPORT).length !== 2) throw new Error(`bundle-bin: the body already uses the name ${IMPORT}`)
  const [imports] = lexModule(text)
  let out = ''
  let at = 0
  for (const found of imports) {
    if (found.d === -2) throw new Error(`bundle-bin: import.meta left in the body at ${found.ss}`)
    if (found.d < 0) throw new Error(`bundle-bin: a static import left in the body at ${found.ss}`)
    if (text.slice(found.ss, found.ss + 7) !== 'import(')
      throw new Error(`bundle-bin: an import() the launcher cannot stand in for at ${found.ss}`)
    if (found.a > -1)
      throw new Error(`bundle-bin: an import() with options (the launcher takes one argument) at ${found.ss}`)
    out += text.slice(at, found.ss) + IMPORT
    at = found.ss + IMPORT.length
  }
  return out + text.slice(at)
}

/**
 * undici's pool and what it loads (the providers' HTTP client: every run that calls a model) are
 * in the body, so that they come compiled from the code cache: loaded from node_modules they were
 * compiled at every start (~20 ms of CPU on Node 20) and ran their first request's functions
 * compiled lazily too. esbuild wraps each of its CommonJS files in a function called at its first
 * require, so `tau --help` runs none of it. undici's index (`import('undici')`: WebFetch, a local
 * model's download) stays external: it loads fetch, WebSocket and caches besides. The bundled
 * client-h2 module gets the node:http2 stand-in (bin/undici-h2.ts) in place of node:http2.
 */
const undiciInBody = {
  name: 'undici-in-body',
  setup(plugin) {
    plugin.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', external: true }))
    // llhttp without SIMD (72 kB of base64), for a CPU without it: loaded from node_modules if so.
    plugin.onResolve({ filter: /^\.\.\/llhttp\/llhttp-wasm\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]undici[\\/]lib[\\/]dispatcher[\\/]/.test(args.importer)
        ? { path: 'undici/lib/llhttp/llhttp-wasm.js', external: true }
        : undefined,
    )
    plugin.onResolve({ filter: /^(node:)?http2$/ }, (args) =>
      /[\\/]node_modules[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/.test(args.importer)
        ? { path: join(root, 'bin', 'undici-h2.ts') }
        : undefined,
    )
  },
}

/** Packages the body loads from node_modules at run time (see the top of this file). */
const EXTERNAL = [
  'jiti',
  '@modelcontextprotocol/sdk',
  '@agentclientprotocol/sdk',
  'html-to-text',
  'typescript',
  'node-llama-cpp',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-http',
  // PostgreSQL and the durable engine (a database configured; optional peer dependencies).
  'pg',
  '@dbos-inc/dbos-sdk',
  // tau serve only (plugins/serve/server.ts imports it lazily).
  'fastify',
]

/**
 * The JSON Schemas of the built-in tools made with their defaults (the tools plugin's
 * builtinTools with its config's defaults) and of the tools the skills, subagents and plan plugins
 * make (Skill, Task, ExitPlanMode: one input each), by tool name, for `__TAU_TOOL_JSON_SCHEMAS__`
 * (plugins/tools/builtins/defaults.ts): computed here from the same sources, by bundling the tools
 * plugin on its own and running it, so the body does not derive them from the zod inputs at
 * every start. The same derivation as at run time (toJsonSchema); test/e2e/bundle.test.ts
 * compares what the built command sends a model with what the sources compute.
 */
/**
 * The config slices' defaults of every `lazySchema` in the built-in presets' plugins, by id, for
 * `__TAU_CONFIG_DEFAULTS__` (kernel/lazy-schema.ts): each schema's result for `{}` (an absent
 * slice), kept where it is plain JSON and parses to itself. Set by toolJsonSchemas, which runs
 * the same sources. test/e2e/bundle.test.ts compares the built command's `tau config` with the
 * sources'.
 */
let configDefaults

async function toolJsonSchemas() {
  const built = await build({
    absWorkingDir: root,
    stdin: {
      contents: [
        "export { builtinTools, toJsonSchema, toolsConfig } from './plugins/tools/index.ts'",
        "export { skillInput } from './plugins/skills/skill-tool.ts'",
        "export { TASK_TOOL, taskInput } from './plugins/subagents/task-tool.ts'",
        "export { exitPlanModeInput } from './plugins/plan/exit-plan-mode.ts'",
        // For configDefaults: every built-in preset's plugins, and the kernel's registry.
        "export { builtinPresets } from './presets/index.ts'",
        "export { lazySchemaDefaults } from './kernel/index.ts'",
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'tool-json-schemas.ts',
      loader: 'ts',
    },
    plugins: [withoutZodLocales],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    tsconfig: 'tsconfig.json',
    external: EXTERNAL,
    // CommonJS dependencies bundled into an ES module require Node's built-ins through this.
    banner: {
      js: "import { createRequire as __tauCreateRequire } from 'node:module'; const require = __tauCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    write: false,
  })
  // Beside the body, so that the externals resolve from the same node_modules.
  const file = join(outdir, `.tool-json-schemas-${process.pid}.mjs`)
  writeFileSync(file, built.outputFiles[0].contents)
  try {
    const tools = await import(pathToFileURL(file).href)
    // The config slices' defaults: every plugin module of the built-in presets loaded, each
    // lazySchema registered is run on {} (kernel/lazy-schema.ts says which results are kept).
    await Promise.all(Object.values(tools.builtinPresets).map((load) => load()))
    configDefaults = tools.lazySchemaDefaults()
    return {
      ...Object.fromEntries(
        tools.builtinTools(tools.toolsConfig.parse({}), {}).map((tool) => [tool.name, tool.inputSchema]),
      ),
      // The tools other plugins make at setup, each from its module's one input.
      Skill: tools.toJsonSchema(tools.skillInput),
      [tools.TASK_TOOL]: tools.toJsonSchema(tools.taskInput),
      ExitPlanMode: tools.toJsonSchema(tools.exitPlanModeInput),
    }
  } finally {
    rmSync(file, { force: true })
  }
}

const body = await build({
  plugins: [withoutZodLocales, asciiRawTemplates, undiciInBody],
  absWorkingDir: root,
  entryPoints: ['bin/cli.ts'],
  outdir,
  bundle: true,
  // One file (esbuild splits ES modules only). With `splitting: true` (each lazy `import()` of tau's own code a chunk in chunks/),
  // a one-turn `tau start -p` still loaded 91 % of the code, in 40 modules instead of one, and
  // took 20 to 60 ms more CPU in three A/Bs on Node 20 (docs/benchmarks.md): Node's ESM loader
  // costs more per module than the compile it saved. It pays once command code stops being
  // reachable from the presets (the same section says what keeps it reachable).
  splitting: false,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  // A script, not an ES module: the launcher compiles it with vm.Script, which takes the code V8
  // compiled for it in an earlier run (bin/compile-cache.ts); Node 20's ES module loader has no
  // such cache. The CommonJS body is wrapped in a function (banner and footer below) that the
  // launcher calls with exports, require, module and the file's URL.
  format: 'cjs',
  define: {
    'import.meta.url': '__tauImportMetaUrl',
    // A string literal (JSON), parsed once where it is read: see plugins/tools/builtins/defaults.ts.
    __TAU_TOOL_JSON_SCHEMAS__: JSON.stringify(JSON.stringify(await toolJsonSchemas())),
    __TAU_CONFIG_DEFAULTS__: JSON.stringify(JSON.stringify(configDefaults)),
  },
  // package.json's engines: Node 20.19 or newer.
  target: 'node20.19',
  tsconfig: 'tsconfig.json',
  external: EXTERNAL,
  // The script's value is this function; one line, so the body's lines stay where the map says.
  banner: { js: `(function (exports, require, module, __tauImportMetaUrl, ${IMPORT}) {` },
  footer: { js: '})' },
  sourcemap: 'linked',
  // White space and syntax only (~30 % less to parse at every start); names stay as written, so
  // stack traces name the functions of the sources, and the source map gives their lines.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
})
for (const file of body.outputFiles) {
  writeFileSync(
    file.path,
    file.path.endsWith('.js') ? await importsThroughLauncher(file.text) : file.contents,
  )
}

const chunks = existsSync(join(outdir, 'chunks')) ? readdirSync(join(outdir, 'chunks')) : []
for (const name of ['cli.js', ...chunks.map((n) => join('chunks', n))]) {
  if (name.endsWith('.js') && /[\u0080-\u{10ffff}]/u.test(readFileSync(join(outdir, name), 'utf8')))
    process.stderr.write(`bundle-bin: dist/bin/${name} is not ASCII: V8 holds it as a two-byte string\n`)
}

// The launcher: a few lines, with the body left as the import it is, and the hash of the body's
// bytes as written, for the code cache's name (bin/tau.ts, bodyIdentity).
const bodySha1 = createHash('sha1')
  .update(readFileSync(join(outdir, 'cli.js')))
  .digest('hex')
await build({
  define: { __TAU_BODY_SHA1__: JSON.stringify(bodySha1) },
  absWorkingDir: root,
  entryPoints: ['bin/tau.ts'],
  outfile: join(root, 'dist', 'bin', 'tau.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  tsconfig: 'tsconfig.json',
  external: ['./cli.js'],
  legalComments: 'none',
  logLevel: 'warning',
})
