/**
 * Claude Code compatibility, settings and workspace trust, with the real binary: Claude Code's
 * settings files (`.claude/settings.json`, `~/.claude/settings.json`) apply beside tau's,
 * `--settings` and `--setting-sources` choose layers, and an untrusted workspace's own files
 * (its `.mcp.json` servers, allow rules, hooks) wait for `tau trust` or `--trust` while its deny
 * rules always apply. The model is the scripted provider (in process, no network).
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Project, useProjects } from './run-tau.js'

const project = useProjects()

/** tau.config.json (not .ts: the config's form is not under test, and jiti costs ~0.45 s of CPU). */
function config(turns: unknown[]): string {
  return JSON.stringify({ preset: 'coding', model: 'scripted:x', providers: { scripted: { turns } } })
}

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

/** The tool_result blocks of the user lines. */
function toolResults(all: Line[]): Array<{ tool_use_id: string; is_error: boolean; content: unknown }> {
  return all
    .filter((l) => l.type === 'user')
    .flatMap((l) => (l.message as { content: Array<Record<string, unknown>> }).content)
    .filter((b) => b.type === 'tool_result') as Array<{
    tool_use_id: string
    is_error: boolean
    content: unknown
  }>
}

const UNTRUSTED = { env: { TAU_TRUST: '0' } }

async function userSettings(p: Project, settings: unknown): Promise<void> {
  await mkdir(join(p.home, '.claude'), { recursive: true })
  await writeFile(join(p.home, '.claude', 'settings.json'), JSON.stringify(settings))
}

describe('Claude Code settings files', () => {
  it('honours a deny rule of .claude/settings.json, even in an untrusted workspace and over --allowed-tools', async () => {
    const p = await project({
      'secret/key.txt': 'the-secret-value\n',
      '.claude/settings.json': JSON.stringify({ permissions: { deny: ['Read(./secret/**)'] } }),
    })
    await p.write({
      'tau.config.json': config([
        { toolCalls: [{ id: 'read_secret', name: 'Read', input: { file_path: p.path('secret/key.txt') } }] },
        { text: 'could not read it' },
      ]),
    })
    const result = await p.run(
      ['start', '-p', 'read the key', '--output-format', 'stream-json', '--allowed-tools', 'Read'],
      UNTRUSTED,
    )
    expect(result.code, result.stderr).toBe(0)
    const all = lines(result.stdout)
    const [read] = toolResults(all)
    expect(read).toMatchObject({ tool_use_id: 'read_secret', is_error: true })
    expect(JSON.stringify(read?.content)).toMatch(/denied/)
    expect(result.stdout).not.toContain('the-secret-value')
    expect(all.at(-1)).toMatchObject({
      permission_denials: [{ tool_name: 'Read', tool_use_id: 'read_secret' }],
    })
  })

  it('applies ~/.claude/settings.json allow rules; --setting-sources leaves a scope out; --settings JSON comes above all', async () => {
    const p = await project()
    await p.write({
      'tau.config.json': config([
        { toolCalls: [{ id: 'echo', name: 'Bash', input: { command: 'echo from-bash' } }] },
        { text: 'done' },
      ]),
    })
    await userSettings(p, { permissions: { allow: ['Bash(echo from-bash:*)'] } })
    const run = (...extra: string[]) =>
      p.run(['start', '-p', 'echo', '--output-format', 'stream-json', ...extra])

    const allowed = await run()
    expect(allowed.code, allowed.stderr).toBe(0)
    const [ran] = toolResults(lines(allowed.stdout))
    expect(ran?.is_error, JSON.stringify(ran)).toBe(false)
    expect(JSON.stringify(ran?.content)).toContain('from-bash')

    const withoutUser = await run('--setting-sources', 'project,local')
    expect(withoutUser.code, withoutUser.stderr).toBe(0)
    expect(toolResults(lines(withoutUser.stdout))[0]?.is_error).toBe(true)

    const denied = await run('--settings', '{"permissions":{"deny":["Bash"]}}')
    expect(denied.code, denied.stderr).toBe(0)
    expect(JSON.stringify(toolResults(lines(denied.stdout))[0]?.content)).toMatch(/denied/)

    const bad = await run('--setting-sources', 'user,everywhere')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/--setting-sources .*'everywhere'/)
  })

  it('tau config lists the settings files in the order they count', async () => {
    const p = await project({ '.claude/settings.json': '{}' })
    await p.write({ 'tau.config.json': config([]) })
    const result = await p.run(['config'])
    expect(result.code, result.stderr).toBe(0)
    const order = [
      join(p.dir, '.tau', 'settings.local.json'),
      join(p.dir, '.claude', 'settings.local.json'),
      join(p.dir, '.tau', 'settings.json'),
      `${join(p.dir, '.claude', 'settings.json')} (project)`,
      `${p.path('tau.config.json')} (config)`,
      join(p.tauHome, 'settings.json'),
      join(p.home, '.claude', 'settings.json'),
    ].map((text) => result.stdout.indexOf(text))
    expect(order.every((at) => at >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
  })
})

describe('workspace trust', () => {
  it("runs a project's hooks only once it is trusted, says what it skipped, and remembers `tau trust`", async () => {
    const p = await project({
      '.claude/settings.json': JSON.stringify({
        hooks: { UserPromptSubmit: [{ hooks: [{ type: 'command', command: 'echo ran > hook-ran.txt' }] }] },
        permissions: { allow: ['Bash'] },
      }),
    })
    await p.write({ 'tau.config.json': config([{ text: 'hello' }, { text: 'hello again' }]) })

    const untrusted = await p.run(['start', '-p', 'hi'], UNTRUSTED)
    expect(untrusted.code, untrusted.stderr).toBe(0)
    expect(p.exists('hook-ran.txt')).toBe(false)
    expect(untrusted.stderr).toContain(`the workspace ${p.dir} is not trusted`)
    expect(untrusted.stderr).toContain(`1 command hook of ${p.path('.claude/settings.json')}`)
    expect(untrusted.stderr).toContain(`1 allow rule of ${p.path('.claude/settings.json')}`)
    expect(untrusted.stderr).toContain('tau trust')

    const trusted = await p.run(['trust'], UNTRUSTED)
    expect(trusted.code, trusted.stderr).toBe(0)
    expect(trusted.stdout).toContain(`trusted: ${p.dir}`)
    expect(existsSync(join(p.tauHome, 'trust.json'))).toBe(true)
    expect((await p.run(['trust', '--list'], UNTRUSTED)).stdout).toContain(p.dir)

    const after = await p.run(['start', '-p', 'hi'], UNTRUSTED)
    expect(after.code, after.stderr).toBe(0)
    expect(p.exists('hook-ran.txt')).toBe(true)
    expect(after.stderr).not.toContain('is not trusted')

    await p.run(['trust', '--revoke'], UNTRUSTED)
    expect((await p.run(['trust', '--list'], UNTRUSTED)).stdout).toContain('no trusted workspaces')
  })

  it('starts no .mcp.json server in an untrusted workspace, lists it truthfully in init, and starts it with --trust', async () => {
    const p = await project()
    const marker = p.path('server-spawned.txt')
    await p.write({
      'tau.config.json': config([{ text: 'one' }, { text: 'two' }]),
      '.mcp.json': JSON.stringify({
        mcpServers: {
          probe: {
            command: 'node',
            args: ['-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`],
          },
        },
      }),
    })
    const untrusted = await p.run(['start', '-p', 'hi', '--output-format', 'stream-json'], UNTRUSTED)
    expect(untrusted.code, untrusted.stderr).toBe(0)
    expect(existsSync(marker)).toBe(false)
    expect(lines(untrusted.stdout)[0]).toMatchObject({
      type: 'system',
      subtype: 'init',
      mcp_servers: [{ name: 'probe', status: 'disabled' }],
    })
    expect(untrusted.stderr).toContain(`the MCP servers of ${p.path('.mcp.json')} (probe)`)

    const once = await p.run(['start', '-p', 'hi', '--output-format', 'stream-json', '--trust'], UNTRUSTED)
    expect(once.code, once.stderr).toBe(0)
    expect(existsSync(marker)).toBe(true)
    const init = lines(once.stdout)[0] as { mcp_servers: Array<{ name: string; status: string }> }
    expect(init.mcp_servers.map((s) => s.name)).toEqual(['probe'])
    expect(init.mcp_servers[0]?.status).not.toBe('disabled')
  })
})
