/**
 * Each embedded agent reads its own env (createAgent({ env }), the kernel's env, PluginContext.env),
 * never process.env: two agents in one process, each with its own env, reach their own model
 * servers with their own keys, and the settings files' `env` goes into that agent's env (not
 * process.env, not the caller's object), where its provider, Bash, command hooks, MCP servers,
 * WebSearch and the Task tool's model aliases find it. Real servers on loopback (the scripted model server in each provider's wire
 * format, a search API stand-in), a real stdio MCP server, real hook and Bash processes.
 *
 * process.env holds other values for every variable involved (a dead base URL, other keys, another
 * probe value): a reader still on process.env sends its request nowhere or shows the wrong value.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { definePreset, type LogRecord } from '../../kernel/index.js'
import providerAnthropic from '../../plugins/provider-anthropic/index.js'
import providerOllama from '../../plugins/provider-ollama/index.js'
import providerOpenai from '../../plugins/provider-openai/index.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import {
  type ScriptedServer,
  startScriptedServer,
  type WireFormat,
} from '../../plugins/provider-scripted/server.js'
import providers from '../../plugins/providers/index.js'
import { type Agent, type CreateAgentOptions, createAgent } from '../../sdk/create-agent.js'
import {
  allowAll,
  collect,
  permissionsPlugin,
  resultOf,
  tempDir,
  toolsPlugin,
  toolText,
} from '../plugins/agent/helpers.js'
import { FAULT_SERVER } from '../plugins/mcp/helpers.js'

/** Where process.env points every provider: nothing listens on port 9. */
const DEAD = 'http://127.0.0.1:9'

const agents: Agent[] = []
const servers: Array<{ close(): Promise<void> }> = []
const dirs: Array<{ remove(): Promise<void> }> = []

beforeEach(() => {
  vi.stubEnv('ANTHROPIC_BASE_URL', DEAD)
  vi.stubEnv('ANTHROPIC_API_KEY', 'sk-ant-of-the-process')
  vi.stubEnv('OPENAI_BASE_URL', `${DEAD}/v1`)
  vi.stubEnv('OPENAI_API_KEY', 'sk-openai-of-the-process')
  vi.stubEnv('AZURE_OPENAI_ENDPOINT', DEAD)
  vi.stubEnv('AZURE_OPENAI_API_KEY', 'azure-key-of-the-process')
  vi.stubEnv('OLLAMA_HOST', DEAD)
  vi.stubEnv('TAU_PROBE', 'probe-of-the-process')
  vi.stubEnv('TAU_SEARCH_KEY', 'search-key-of-the-process')
  vi.stubEnv('TAU_TRUST', '0')
  vi.stubEnv('ANTHROPIC_DEFAULT_SONNET_MODEL', 'sonnet-of-the-process')
})
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
  await Promise.all(dirs.splice(0).map((dir) => dir.remove()))
  vi.unstubAllEnvs()
})

async function scripted(
  format: WireFormat,
  script: readonly ScriptTurn[],
  models: readonly string[] = ['scripted-model'],
): Promise<ScriptedServer> {
  const server = await startScriptedServer({
    format,
    script,
    models: models.map((name) => ({ name, capabilities: ['completion', 'tools'], contextLength: 32_768 })),
  })
  servers.push(server)
  return server
}

/** A folder for one agent, and an env that names only its own homes and policy folder. */
async function place(label: string) {
  const d = await tempDir(`tau-agent-env-${label}-`)
  dirs.push(d)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    TAU_HOME: join(d.dir, '.tau-home'),
    CLAUDE_CONFIG_DIR: join(d.dir, '.claude-home'),
    TAU_MANAGED_SETTINGS_DIR: join(d.dir, '.managed'),
  }
  return { dir: d.dir, env }
}

async function agentWith(options: CreateAgentOptions): Promise<Agent> {
  const agent = await createAgent({ logLevel: 'silent', ...options })
  agents.push(agent)
  return agent
}

const headerOf = (headers: IncomingHttpHeaders, name: string) => headers[name]

describe("an embedded agent's providers read its env", () => {
  it('two agents, two envs: Anthropic, OpenAI, Azure and Ollama each reach the servers and keys of their own env', async () => {
    const preset = definePreset({
      name: 'providers-only',
      plugins: [providers, providerAnthropic, providerOpenai, providerOllama],
    })
    const run = async (label: 'a' | 'b') => {
      const anthropic = await scripted('anthropic', [{ text: `anthropic ${label}` }])
      const openai = await scripted('openai', [{ text: `openai ${label}` }])
      const azure = await scripted('openai', [{ text: `azure ${label}` }])
      const ollama = await scripted('ollama', [{ text: `ollama ${label}` }])
      const { dir, env } = await place(label)
      const agent = await agentWith({
        preset,
        // The agent's own dependencies, without tools: the providers are what is looked at here.
        plugins: [toolsPlugin([]), permissionsPlugin(allowAll, [])],
        cwd: dir,
        env: {
          ...env,
          ANTHROPIC_BASE_URL: anthropic.url,
          ANTHROPIC_API_KEY: `sk-ant-${label}-0123456789`,
          OPENAI_BASE_URL: `${openai.url}/v1`,
          OPENAI_API_KEY: `sk-openai-${label}-0123456789`,
          AZURE_OPENAI_ENDPOINT: azure.url,
          AZURE_OPENAI_API_KEY: `azure-${label}-0123456789`,
          OLLAMA_HOST: ollama.url,
        },
        config: { model: 'anthropic:scripted-model', providers: { retries: { max: 0 } } },
      })
      const texts: string[] = []
      for (const model of [
        'anthropic:scripted-model',
        'openai:scripted-model',
        'azure:scripted-model',
        'ollama:scripted-model',
      ]) {
        const result = resultOf(await collect(agent.session({ model }).run('hello')))
        expect(result.isError, `${model}: ${JSON.stringify(result)}`).toBe(false)
        texts.push(result.text)
      }
      return { texts, anthropic, openai, azure, ollama }
    }
    const [a, b] = await Promise.all([run('a'), run('b')])
    for (const [label, seen] of [
      ['a', a],
      ['b', b],
    ] as const) {
      expect(seen.texts).toEqual([
        `anthropic ${label}`,
        `openai ${label}`,
        `azure ${label}`,
        `ollama ${label}`,
      ])
      const chat = (server: ScriptedServer, path: RegExp) => server.requests.filter((r) => path.test(r.path))
      const messages = chat(seen.anthropic, /^\/v1\/messages/)
      expect(messages).toHaveLength(1)
      expect(headerOf(messages[0]!.headers, 'x-api-key')).toBe(`sk-ant-${label}-0123456789`)
      const completions = chat(seen.openai, /^\/v1\/chat\/completions/)
      expect(completions).toHaveLength(1)
      expect(headerOf(completions[0]!.headers, 'authorization')).toBe(`Bearer sk-openai-${label}-0123456789`)
      const deployments = chat(seen.azure, /^\/openai\/v1\/chat\/completions/)
      expect(deployments).toHaveLength(1)
      expect(headerOf(deployments[0]!.headers, 'api-key')).toBe(`azure-${label}-0123456789`)
      expect(chat(seen.ollama, /^\/api\/chat/)).toHaveLength(1)
    }
  })
})

/** A search API stand-in (Brave's shape): records the key each request carries. */
async function searchServer(): Promise<{ url: string; keys: string[]; close(): Promise<void> }> {
  const keys: string[] = []
  const server: Server = createServer((req, res) => {
    keys.push(String(req.headers['x-subscription-token'] ?? ''))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({ web: { results: [{ title: 'Hit', url: 'https://example.com/', description: 'x' }] } }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const handle = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/res/v1/web/search`,
    keys,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
  servers.push(handle)
  return handle
}

describe("the settings files' env goes into the agent's env", () => {
  it("two agents: each one's provider, model alias, Bash, command hook, MCP server and WebSearch see its own env and its own settings' env; process.env and the caller's object are untouched", async () => {
    const logs: LogRecord[] = []
    const run = async (label: 'a' | 'b') => {
      const model = await scripted(
        'anthropic',
        [
          {
            toolCalls: [
              { id: 'bash', name: 'Bash', input: { command: 'echo "bash:$TAU_PROBE:$TAU_SETTING"' } },
              { id: 'mcp-probe', name: 'mcp__fault__env', input: { name: 'TAU_PROBE' } },
              { id: 'mcp-setting', name: 'mcp__fault__env', input: { name: 'FROM_SETTINGS' } },
              { id: 'search', name: 'WebSearch', input: { query: 'tau' } },
              {
                id: 'task',
                name: 'Task',
                input: { description: 'x', prompt: 'p', subagent_type: 'general-purpose', model: 'sonnet' },
              },
            ],
          },
          // The subagent's one turn, then the parent's last.
          { text: `child ${label}` },
          { text: `done ${label}` },
        ],
        ['scripted-model', `sonnet-${label}`],
      )
      const search = await searchServer()
      const { dir, env } = await place(label)
      await mkdir(join(dir, '.claude'))
      await writeFile(
        join(dir, '.claude', 'settings.json'),
        JSON.stringify({
          // The provider's base URL comes from the settings file only.
          env: { ANTHROPIC_BASE_URL: model.url, TAU_SETTING: `setting-${label}` },
          permissions: { allow: ['Bash(echo:*)', 'mcp__fault__env', 'WebSearch', 'Task'] },
        }),
      )
      const given: NodeJS.ProcessEnv = {
        ...env,
        // Trusted by this env (process.env says no): the project's settings apply.
        TAU_TRUST: '1',
        ANTHROPIC_API_KEY: `sk-ant-${label}-secret-0123456789`,
        TAU_PROBE: `probe-${label}`,
        TAU_SEARCH_KEY: `search-${label}-0123456789`,
        // What Claude Code's `sonnet` alias means for this agent's Task calls.
        ANTHROPIC_DEFAULT_SONNET_MODEL: `sonnet-${label}`,
      }
      const before = { ...given }
      const agent = await agentWith({
        cwd: dir,
        env: given,
        logLevel: 'debug',
        logSink: (record) => logs.push(record),
        config: {
          model: 'anthropic:scripted-model',
          providers: { retries: { max: 0 } },
          sandbox: { env: { allow: ['TAU_PROBE'] } },
          tools: { webSearch: { provider: 'brave', endpoint: search.url, apiKeyEnv: 'TAU_SEARCH_KEY' } },
          hooks: {
            UserPromptSubmit: [
              {
                hooks: [
                  {
                    type: 'command',
                    command: 'printf "%s %s" "$TAU_PROBE" "$TAU_SETTING" > "$CLAUDE_PROJECT_DIR/hook.txt"',
                  },
                ],
              },
            ],
          },
          mcpServers: {
            fault: {
              command: process.execPath,
              args: [FAULT_SERVER],
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference as an MCP config holds it
              env: { FROM_SETTINGS: '${TAU_SETTING}' },
            },
          },
        },
      })
      const events = await collect(agent.run('go'))
      return { label, dir, agent, given, before, events, model, search }
    }
    const results = await Promise.all([run('a'), run('b')])
    for (const { label, dir, agent, given, before, events, model, search } of results) {
      expect(resultOf(events).text).toBe(`done ${label}`)
      const calls = model.requests.filter((r) => r.path.startsWith('/v1/messages'))
      expect(calls.map((r) => (r.body as { model: string }).model)).toEqual([
        'scripted-model',
        `sonnet-${label}`,
        'scripted-model',
      ])
      expect(toolText(events, 'task')).toContain(`child ${label}`)
      expect(model.requests[0]!.headers['x-api-key']).toBe(`sk-ant-${label}-secret-0123456789`)
      expect(toolText(events, 'bash')).toContain(`bash:probe-${label}:setting-${label}`)
      expect(toolText(events, 'mcp-probe')).toBe(`probe-${label}`)
      expect(toolText(events, 'mcp-setting')).toBe(`setting-${label}`)
      expect(toolText(events, 'search')).toContain('https://example.com/')
      expect(search.keys).toEqual([`search-${label}-0123456789`])
      expect(await readFile(join(dir, 'hook.txt'), 'utf8')).toBe(`probe-${label} setting-${label}`)
      // The settings' variables are in this agent's env only.
      expect(agent.kernel.env.TAU_SETTING).toBe(`setting-${label}`)
      expect(agent.kernel.env.ANTHROPIC_BASE_URL).toBe(model.url)
      expect(given).toEqual(before)
    }
    expect(process.env.TAU_SETTING).toBeUndefined()
    expect(process.env.ANTHROPIC_BASE_URL).toBe(DEAD)
    // No log line carries a key of either env.
    const logged = JSON.stringify(logs)
    for (const secret of ['sk-ant-a-secret-0123456789', 'sk-ant-b-secret-0123456789', 'search-a-0123456789'])
      expect(logged).not.toContain(secret)
  })
})

describe("the agent's TAU_HOME is its env's", () => {
  it("its sessions are written there and the sandbox keeps tools out of it; process.env's TAU_HOME is nobody's", async () => {
    const { dir, env } = await place('home')
    // Both homes inside the workspace: only the env's is tau's, so only it is closed to the tools.
    const own = join(dir, 'own-home')
    const processHome = join(dir, 'process-home')
    vi.stubEnv('TAU_HOME', processHome)
    await mkdir(own)
    await mkdir(processHome)
    await writeFile(join(own, 'secret.txt'), 'tau home')
    await writeFile(join(processHome, 'notes.txt'), 'just a folder')
    const model = await scripted('anthropic', [
      {
        toolCalls: [
          { id: 'own', name: 'Read', input: { file_path: join(own, 'secret.txt') } },
          { id: 'other', name: 'Read', input: { file_path: join(processHome, 'notes.txt') } },
        ],
      },
      { text: 'read' },
    ])
    const agent = await agentWith({
      cwd: dir,
      env: {
        ...env,
        TAU_HOME: own,
        ANTHROPIC_BASE_URL: model.url,
        ANTHROPIC_API_KEY: 'sk-ant-home-0123456789',
      },
      config: {
        model: 'anthropic:scripted-model',
        providers: { retries: { max: 0 } },
        permissions: { allow: ['Read'] },
      },
    })
    expect(agent.kernel.paths.tauHome).toBe(own)
    const events = await collect(agent.run('read both'))
    expect(resultOf(events).text).toBe('read')
    expect(toolText(events, 'own')).not.toContain('tau home')
    expect(toolText(events, 'own')).toContain('the sandbox policy denies reading it')
    expect(toolText(events, 'other')).toContain('just a folder')
    await agent.close()
    expect(existsSync(join(own, 'projects'))).toBe(true)
    expect(existsSync(join(processHome, 'projects'))).toBe(false)
  })
})
