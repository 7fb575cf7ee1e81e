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
import {
  AsyncSeriesWaterfallHook,
  agentHooksRef,
  defineHooks,
  definePlugin,
  defineService,
  defineTool,
  toolRegistryRef,
} from '${tau.name}'
import { z } from 'zod'

export const ${id}Config = z.object({
  /** How the greeting starts. */
  greeting: z.string().default('Hello'),
  /** Log each greeting (debug level). */
  log: z.boolean().default(false),
  /** Names the Greet tool refuses (an agent-hook tap denies the call before it runs). */
  blocked: z.array(z.string()).default([]),
})
export type ${capitalize(id)}Config = z.infer<typeof ${id}Config>

/** The service this plugin provides; other plugins resolve it by this typed ref. */
export interface Greeter {
  greet(who: string): Promise<string>
}
export const greeterRef = defineService<Greeter>('${name}.greeter')

/** The hook this plugin declares: other plugins tap \`greeting\` to rewrite each greeting. */
export const ${id}Hooks = defineHooks<{ greeting: AsyncSeriesWaterfallHook<[string]> }>('${name}')

/**
 * A tool the model can call. Its zod schema validates the input and becomes the JSON Schema the
 * model sees; \`readOnly\` lets it run without asking in the default permission mode, and
 * \`permissionTarget\` is what rules like \`Greet(Ada)\` match.
 */
export function greetTool(greeter: Greeter) {
  return defineTool({
    name: 'Greet',
    description: 'Greets someone by name and returns the greeting.',
    input: z.object({ who: z.string().min(1).describe('who to greet') }),
    annotations: { readOnly: true },
    permissionTarget: (input) => input.who,
    async execute(input) {
      return greeter.greet(input.who)
    },
  })
}

export default definePlugin({
  name: '${name}',
  description: 'Greets people (a starting point: replace with what your plugin does)',
  // The tool registry is the tools plugin's, the agent loop's hooks the agent plugin's.
  dependsOn: ['tools', 'agent'],
  config: ${id}Config,
  setup(ctx) {
    const hooks = ctx.declareHooks(${id}Hooks, {
      greeting: new AsyncSeriesWaterfallHook<[string]>(['greeting']),
    })
    const greeter: Greeter = {
      async greet(who) {
        const text = await hooks.greeting.promise(\`\${ctx.config.greeting}, \${who}!\`)
        if (ctx.config.log) ctx.logger.debug('greeted', { who })
        return text
      },
    }
    ctx.provide(greeterRef, greeter)
    const unregister = ctx.resolve(toolRegistryRef).register(greetTool(greeter), ctx.name)
    // A tap on the agent loop: preToolUse sees every tool call before it runs (a bail hook:
    // returning a decision ends it, undefined leaves the call to the next tap and the permissions).
    ctx.hooksOf(agentHooksRef).preToolUse.tapPromise(async (call) => {
      if (call.toolName !== 'Greet') return undefined
      const who = (call.input as { who?: unknown }).who
      if (typeof who === 'string' && ctx.config.blocked.includes(who))
        return { decision: 'deny', reason: \`\${who} is not to be greeted\` }
      return undefined
    })
    // A tap on the kernel's lifecycle: heavy work (connections, processes) belongs in start, not setup.
    ctx.hooks.ready.tapPromise(async () => {
      ctx.logger.debug('${name} is ready')
    })
    // Teardown: runs at stop, in reverse setup order, also after a failed start.
    return () => {
      unregister()
      ctx.logger.debug('${name} stopped')
    }
  },
})
`
  const test = `import { type AgentEvent, agentRuntimeRef, definePlugin } from '${tau.name}'
import { permissions, providerScripted } from '${tau.name}/plugins'
import { createTestKernel } from '${tau.name}/testing'
import { describe, expect, it } from 'vitest'
import ${id}, { greeterRef, ${id}Hooks } from './index.js'

/** One agent run with the scripted model: it calls Greet for Ada, then answers. */
async function greetAda(config: Record<string, unknown> = {}): Promise<AgentEvent[]> {
  const kernel = await createTestKernel({
    plugins: [${id}, providerScripted, permissions],
    config: {
      model: 'scripted:test',
      // Without a rule a tool call needs approval, and a test has nobody to ask: it is denied.
      permissions: { allow: ['Greet(Ada)'] },
      providers: {
        scripted: { turns: [{ toolCalls: [{ name: 'Greet', input: { who: 'Ada' } }] }, { text: 'Done.' }] },
      },
      ...config,
    },
  })
  const session = kernel.resolve(agentRuntimeRef).createSession({ scope: kernel.createSession() })
  const events: AgentEvent[] = []
  for await (const event of session.run('Please greet Ada')) events.push(event)
  await session.close()
  await kernel.stop()
  return events
}

function toolResult(events: readonly AgentEvent[]): { text: string; isError: boolean } {
  const end = events.find((event) => event.type === 'tool-end')
  if (end?.type !== 'tool-end') throw new Error('the Greet tool did not run')
  const text = end.result.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
  return { text, isError: end.result.isError === true }
}

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

  it('the model calls the Greet tool and gets the greeting back', async () => {
    const events = await greetAda({ '${name}': { greeting: 'Welcome' } })
    expect(toolResult(events)).toEqual({ text: 'Welcome, Ada!', isError: false })
    expect(events.at(-1)).toMatchObject({ type: 'result', text: 'Done.', isError: false })
  })

  it('its preToolUse tap denies a blocked name before the tool runs', async () => {
    const events = await greetAda({ '${name}': { blocked: ['Ada'] } })
    const result = toolResult(events)
    expect(result.isError).toBe(true)
    expect(result.text).toContain('Ada is not to be greeted')
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
| \`blocked\` | \`[]\` | names the Greet tool refuses |

## Provides

- service \`${name}.greeter\` (\`greeterRef\`): \`greet(who)\`
- hook \`${name}.greeting\` (AsyncSeriesWaterfallHook): rewrite a greeting; taps return the text
- tool \`Greet\` (\`{ who }\`, read-only): the greeting, for the model
- taps \`agent.preToolUse\`: denies a Greet call for a \`blocked\` name

It depends on the \`tools\` and \`agent\` plugins (every preset but \`minimal\` has them).

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
