/**
 * A project whose model is a scripted Anthropic server on loopback (the real Messages API wire),
 * for the claude-compat files: one way to make it, instead of a copy per file.
 *
 * The config is `tau.config.json`, not `tau.config.ts`: none of these tests is about the
 * config's TypeScript form, and a project's first tau run transpiles a `tau.config.ts` with jiti
 * (about 0.45 s of CPU of the run's 1.1 s; config-forms.test.ts covers the TypeScript form).
 */
import { afterAll } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type Project, type RunOptions, type TauResult, useProjects } from './run-tau.js'

export interface AnthropicFixture {
  readonly p: Project
  readonly server: ScriptedServer
  /** `tau ...args` in the project, with ANTHROPIC_API_KEY set (options.env adds to it). */
  run(args: readonly string[], options?: Partial<RunOptions>): Promise<TauResult>
  /** The bodies of the Messages API requests the server got, in order. */
  bodies(): Array<Record<string, unknown>>
  /** The model each Messages API request asked for, in order. */
  models(): string[]
}

export interface AnthropicFixtureOptions {
  /** Files of the project, written before the config. */
  files?: Record<string, string>
  /** More `providers` keys beside `anthropic` (retries, capabilities, ...). */
  providers?: Record<string, unknown>
  /** More keys of `providers.anthropic` (apiKey, ...). */
  anthropic?: Record<string, unknown>
  /** More top-level config keys (headless, sandbox, ...). */
  config?: Record<string, unknown>
}

/** The config: preset coding, model anthropic:scripted-model, the server as the base URL. */
export function anthropicConfig(url: string, options: AnthropicFixtureOptions = {}): string {
  return `${JSON.stringify(
    {
      preset: 'coding',
      model: 'anthropic:scripted-model',
      providers: { anthropic: { baseURL: url, ...options.anthropic }, ...options.providers },
      ...options.config,
    },
    null,
    2,
  )}\n`
}

/**
 * A factory of fixtures; the projects and servers it made are removed and closed after the
 * file's tests. Call at the top level of a test file. `turns` may depend on the project (paths).
 */
export function useAnthropicFixtures(): (
  turns: ScriptTurn[] | ((p: Project) => ScriptTurn[]),
  options?: AnthropicFixtureOptions,
) => Promise<AnthropicFixture> {
  const project = useProjects()
  const servers: ScriptedServer[] = []
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()))
  })
  return async (turns, options = {}) => {
    const p = await project(options.files ?? {})
    const script = typeof turns === 'function' ? turns(p) : turns
    const server = await startScriptedServer({ format: 'anthropic', script })
    servers.push(server)
    await p.write({ 'tau.config.json': anthropicConfig(server.url, options) })
    const bodies = () =>
      server.requests
        .filter((r) => r.path.startsWith('/v1/messages'))
        .map((r) => r.body as Record<string, unknown>)
    return {
      p,
      server,
      run: (args, runOptions = {}) =>
        p.run(args, { ...runOptions, env: { ANTHROPIC_API_KEY: 'sk-ant-test', ...runOptions.env } }),
      bodies,
      models: () => bodies().map((body) => String(body.model)),
    }
  }
}
