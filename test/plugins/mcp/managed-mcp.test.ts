/**
 * An administrator's managed-mcp.json: when it exists, its servers are the only ones tau starts
 * (the config's, the project's .mcp.json and a session's own are logged as not started by
 * policy). TAU_MANAGED_SETTINGS_DIR points the lookup at a temporary directory, never /etc.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import agent, { agentRuntimeRef } from '../../../plugins/agent/index.js'
import mcp from '../../../plugins/mcp/index.js'
import { blockedBy } from '../../../plugins/mcp/server-policy.js'
import providerScripted from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools from '../../../plugins/tools/index.js'
import { FAULT_SERVER, mcpKernel, runTool, textOf } from './helpers.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-managed-mcp-'))
  vi.stubEnv('TAU_MANAGED_SETTINGS_DIR', join(dir, 'etc'))
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await rm(dir, { recursive: true, force: true })
})

async function managedMcp(origin: 'tau' | 'claude-code', text: string): Promise<string> {
  await mkdir(join(dir, 'etc', origin), { recursive: true })
  const file = join(dir, 'etc', origin, 'managed-mcp.json')
  await writeFile(file, text)
  return file
}

const server = (declared: string) => ({
  command: process.execPath,
  args: [FAULT_SERVER],
  env: { DECLARED: declared },
})

describe('managed-mcp.json', () => {
  it("starts only its servers, tau's file winning a name, and says which others were not started", async () => {
    const claude = await managedMcp(
      'claude-code',
      JSON.stringify({ mcpServers: { corp: server('claude'), docs: server('docs') } }),
    )
    const tau = await managedMcp('tau', JSON.stringify({ mcpServers: { corp: server('tau') } }))
    await writeFile(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { fault: server('project') } }))
    const ctx = await mcpKernel({ mcpServers: { other: server('config') } }, { cwd: dir })
    try {
      expect(
        ctx
          .servers()
          .list()
          .map((s) => s.name)
          .sort(),
      ).toEqual(['corp', 'docs'])
      expect(textOf(await runTool(ctx.registry(), 'mcp__corp__env', { name: 'DECLARED' }))).toBe('tau')
      expect(ctx.registry().get('mcp__fault__env')).toBeUndefined()
      const warnings = ctx.kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
      expect(warnings).toContain(
        `MCP servers fault, other not started by policy: ${tau} and ${claude} lists the only MCP servers tau may start`,
      )
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('with no servers in it, starts none', async () => {
    await managedMcp('claude-code', '{"mcpServers": {}}')
    const ctx = await mcpKernel({ mcpServers: { other: server('config') } }, { cwd: dir })
    try {
      expect(ctx.servers().list()).toEqual([])
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('stops setup with an error naming the file when it is malformed', async () => {
    const file = await managedMcp('claude-code', '{"mcpServers": {"corp": {"args": []}}}')
    const failure = await mcpKernel({}, { cwd: dir }).then(
      () => undefined,
      (error: unknown) => error,
    )
    const text = `${String(failure)} ${String((failure as { cause?: unknown })?.cause)}`
    expect(text).toContain(`${file}: mcpServers.corp: needs "command" (stdio) or "url" (http, sse)`)
  })

  it('lets a session add no servers of its own', async () => {
    const file = await managedMcp('claude-code', JSON.stringify({ mcpServers: { corp: server('corp') } }))
    const kernel = await createTestKernel({
      plugins: [providers, providerScripted, sandbox, tools, agent, mcp],
      cwd: dir,
      config: { model: 'scripted:own', providers: { scripted: { turns: [{ text: 'ok' }] } } },
    })
    try {
      const session = kernel.resolve(agentRuntimeRef).createSession({
        settings: { mcpServers: { mine: server('mine') } },
      })
      const tools: string[] = []
      for await (const event of session.run('hi'))
        if (event.type === 'session-start') tools.push(...event.tools)
      await session.close()
      expect(tools).toContain('mcp__corp__env')
      expect(tools.some((name) => name.startsWith('mcp__mine__'))).toBe(false)
      const warnings = kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
      expect(warnings.join('\n')).toContain(
        `the session's MCP servers mine not started by policy: ${file} lists the only MCP servers tau may start`,
      )
    } finally {
      await kernel.stop()
    }
  })
})

describe('allowedMcpServers and deniedMcpServers', () => {
  async function settings(file: string, value: unknown): Promise<string> {
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(file, JSON.stringify(value))
    return file
  }
  const fault = [process.execPath, FAULT_SERVER]

  it('a denylist anywhere wins; once an allowlist names commands, a stdio server must match one', async () => {
    const home = join(dir, 'home')
    const policy = await settings(join(dir, 'etc', 'claude-code', 'managed-settings.json'), {
      allowedMcpServers: [{ serverCommand: fault }, { serverName: 'b' }],
    })
    const user = await settings(join(home, 'settings.json'), { deniedMcpServers: [{ serverName: 'a2' }] })
    const ctx = await mcpKernel(
      {
        mcpServers: {
          a: { command: fault[0]!, args: fault.slice(1) },
          a2: { command: fault[0]!, args: fault.slice(1) },
          b: { command: fault[0]!, args: [...fault.slice(1), '--other'] },
          d: { type: 'http', url: 'http://127.0.0.1:9/mcp' },
        },
      },
      { cwd: dir, tauHome: home },
    )
    try {
      expect(
        ctx
          .servers()
          .list()
          .map((s) => s.name),
      ).toEqual(['a'])
      const warnings = ctx.kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
      const files = `(${policy}, ${user})`
      expect(warnings).toContain(`MCP server a2 not started by policy: it is on deniedMcpServers ${files}`)
      expect(warnings).toContain(
        `MCP server b not started by policy: it matches no entry of allowedMcpServers (by serverCommand) ${files}`,
      )
      expect(warnings).toContain(
        `MCP server d not started by policy: it matches no entry of allowedMcpServers ${files}`,
      )
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('allowManagedMcpServersOnly leaves only the managed allowlist', async () => {
    const home = join(dir, 'home')
    const policy = await settings(join(dir, 'etc', 'tau', 'managed-settings.json'), {
      allowManagedMcpServersOnly: true,
      allowedMcpServers: [{ serverName: 'a' }],
    })
    const user = await settings(join(home, 'settings.json'), { allowedMcpServers: [{ serverName: 'b' }] })
    const ctx = await mcpKernel(
      {
        mcpServers: {
          a: { command: fault[0]!, args: fault.slice(1) },
          b: { command: fault[0]!, args: fault.slice(1) },
        },
      },
      { cwd: dir, tauHome: home },
    )
    try {
      expect(
        ctx
          .servers()
          .list()
          .map((s) => s.name),
      ).toEqual(['a'])
      const warnings = ctx.kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
      expect(warnings).toContain(
        `allowedMcpServers of ${user} ignored by policy: allowManagedMcpServersOnly in ${policy}`,
      )
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('matches a remote server by URL pattern once the list has URL entries', () => {
    const policy = {
      allowed: [{ serverUrl: 'https://*.corp.example/*' }, { serverName: 'named' }],
      denied: [],
      files: [],
      problems: [],
    }
    const remote = (url: string) => ({ url, headers: {}, transport: 'http' as const })
    expect(blockedBy(policy, 'x', remote('https://mcp.corp.example/v1'))).toBeUndefined()
    expect(blockedBy(policy, 'named', remote('https://evil.example/?.corp.example/'))).toContain(
      'by serverUrl',
    )
    expect(blockedBy({ ...policy, allowed: [] }, 'x', remote('https://mcp.corp.example/v1'))).toContain(
      'matches no entry',
    )
  })
})
