/**
 * The files of `tau plugin new NAME`: a third-party plugin package that type-checks and whose
 * test passes as generated. Every name and version in them comes from tau's own package.json
 * (its npm name, its version, the versions of zod and the test tools it is built with), so the
 * scaffold never drifts from the package it runs in.
 */

export interface TauPackageInfo {
  readonly name: string
  readonly version: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly devDependencies?: Readonly<Record<string, string>>
}

/** A plugin name: kebab-case, as the kernel requires (it names every tap, log line and error). */
export const PLUGIN_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

/** `my-plugin` -> `myPlugin`. */
export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function versionOf(pkg: TauPackageInfo, dep: string, fallback: string): string {
  const range = pkg.dependencies?.[dep] ?? pkg.devDependencies?.[dep] ?? fallback
  return /^\d/.test(range) ? `^${range}` : range
}

export function pluginFiles(name: string, tau: TauPackageInfo): Record<string, string> {
  const id = camelCase(name)
  const packageName = `tau-plugin-${name}`
  const pkg = {
    name: packageName,
    version: '0.1.0',
    description: `A tau plugin: ${name}`,
    type: 'module',
    license: 'MIT',
    keywords: ['tau', 'tau-plugin'],
    exports: { '.': './index.ts' },
    files: ['index.ts', 'README.md'],
    scripts: { test: 'vitest run', typecheck: 'tsc --noEmit' },
    peerDependencies: { [tau.name]: `^${tau.version}` },
    dependencies: { zod: versionOf(tau, 'zod', '^4.0.0') },
    devDependencies: {
      [tau.name]: `^${tau.version}`,
      '@types/node': versionOf(tau, '@types/node', '^20.0.0'),
      typescript: versionOf(tau, 'typescript', '^5.0.0'),
      vitest: versionOf(tau, 'vitest', '^3.0.0'),
    },
  }
  const index = `/**
 * The \`${name}\` plugin. tau loads it from a project's tau.config.ts:
 *   plugins: ['${packageName}']   (or a path to this file)
 * and validates its config slice, \`${name}: { ... }\`, with the schema below before anything starts.
 */
import { AsyncSeriesWaterfallHook, defineHooks, definePlugin, defineService } from '${tau.name}'
import { z } from 'zod'

export const ${id}Config = z.object({
  /** How the greeting starts. */
  greeting: z.string().default('Hello'),
  /** Log each greeting (debug level). */
  log: z.boolean().default(false),
})
export type ${capitalize(id)}Config = z.infer<typeof ${id}Config>

/** The service this plugin provides; other plugins resolve it by this typed ref. */
export interface Greeter {
  greet(who: string): Promise<string>
}
export const greeterRef = defineService<Greeter>('${name}.greeter')

/** The hook this plugin declares: other plugins tap \`greeting\` to rewrite each greeting. */
export const ${id}Hooks = defineHooks<{ greeting: AsyncSeriesWaterfallHook<[string]> }>('${name}')

export default definePlugin({
  name: '${name}',
  description: 'Greets people (a starting point: replace with what your plugin does)',
  config: ${id}Config,
  setup(ctx) {
    const hooks = ctx.declareHooks(${id}Hooks, {
      greeting: new AsyncSeriesWaterfallHook<[string]>(['greeting']),
    })
    ctx.provide(greeterRef, {
      async greet(who) {
        const text = await hooks.greeting.promise(\`\${ctx.config.greeting}, \${who}!\`)
        if (ctx.config.log) ctx.logger.debug('greeted', { who })
        return text
      },
    })
    // A tap on the kernel's lifecycle: heavy work (connections, processes) belongs in start, not setup.
    ctx.hooks.ready.tapPromise(async () => {
      ctx.logger.debug('${name} is ready')
    })
    // Teardown: runs at stop, in reverse setup order, also after a failed start.
    return () => ctx.logger.debug('${name} stopped')
  },
})
`
  const test = `import { definePlugin } from '${tau.name}'
import { createTestKernel } from '${tau.name}/testing'
import { describe, expect, it } from 'vitest'
import ${id}, { greeterRef, ${id}Hooks } from './index.js'

describe('${name}', () => {
  it('greets with the configured greeting', async () => {
    const kernel = await createTestKernel({ plugins: [${id}], config: { '${name}': { greeting: 'Hi' } } })
    expect(await kernel.resolve(greeterRef).greet('Ada')).toBe('Hi, Ada!')
    await kernel.stop()
  })

  it('lets another plugin rewrite a greeting through its hook', async () => {
    const shout = definePlugin({
      name: 'shout',
      dependsOn: ['${name}'],
      setup(ctx) {
        ctx.hooksOf(${id}Hooks).greeting.tap((text) => text.toUpperCase())
      },
    })
    const kernel = await createTestKernel({ plugins: [${id}, shout] })
    expect(await kernel.resolve(greeterRef).greet('Ada')).toBe('HELLO, ADA!')
    await kernel.stop()
  })

  it('rejects a config of the wrong type, naming the plugin', async () => {
    await expect(
      createTestKernel({ plugins: [${id}], config: { '${name}': { greeting: 42 } } }),
    ).rejects.toMatchObject({ code: 'TAU_CONFIG_INVALID' })
  })
})
`
  const readme = `# ${packageName}

A [tau](https://www.npmjs.com/package/${tau.name}) plugin, scaffolded by \`tau plugin new ${name}\`.

## Use

\`\`\`ts
// tau.config.ts
import { defineConfig } from '${tau.name}'

export default defineConfig({
  plugins: ['${packageName}'],
  '${name}': { greeting: 'Hello' },
})
\`\`\`

## Config (\`${name}\`)

| key | default | |
|---|---|---|
| \`greeting\` | \`'Hello'\` | how a greeting starts |
| \`log\` | \`false\` | log each greeting (debug) |

## Provides

- service \`${name}.greeter\` (\`greeterRef\`): \`greet(who)\`
- hook \`${name}.greeting\` (AsyncSeriesWaterfallHook): rewrite a greeting; taps return the text

## Develop

\`\`\`sh
npm install
npm run typecheck
npm test
\`\`\`

tau's \`tau-plugin-authoring\` skill (ask tau to "write a tau plugin") explains services, hooks,
tools, errors and tests.
`
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      types: ['node'],
    },
    include: ['*.ts'],
  }
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'index.ts': index,
    'index.test.ts': test,
    'README.md': readme,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    '.gitignore': 'node_modules/\n',
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
