// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references in MCP configs are the subject here
/**
 * Configuration: `.mcp.json` loading and merging with `mcpServers`, `${VAR}` expansion, clear
 * errors for a malformed file, tool naming, result mapping, and `tau mcp add/remove`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CliCommand, cliCommandsRef } from '../../../kernel/index.js'
import { expandString, mapResult, parseMcpFile, toolName } from '../../../plugins/mcp/index.js'
import { FAULT_SERVER, mcpKernel, runTool, textOf } from './helpers.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-mcp-config-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('${VAR} expansion', () => {
  it('expands set variables, applies defaults, and reports unset ones', () => {
    const missing = new Set<string>()
    const env = { A: 'a', EMPTY: '' }
    expect(expandString('x-${A}-${B:-bee}-${EMPTY:-dflt}-${C}', env, missing)).toBe('x-a-bee-dflt-')
    expect([...missing]).toEqual(['C'])
  })
})

describe('tool names', () => {
  it('is mcp__<server>__<tool> in the provider-safe charset, at most 64', () => {
    expect(toolName('github', 'create_issue')).toBe('mcp__github__create_issue')
    expect(toolName('my.server', 'get thing/x')).toBe('mcp__my_server__get_thing_x')
    const long = toolName('server', 'a'.repeat(80))
    expect(long).toHaveLength(64)
    expect(long).toMatch(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/)
    expect(toolName('server', `${'a'.repeat(80)}b`)).not.toBe(long)
  })
})

describe('result mapping', () => {
  it('maps every content type', () => {
    const out = mapResult({
      content: [
        { type: 'text', text: 't' },
        { type: 'image', data: 'aGk=', mimeType: 'image/png' },
        { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
        { type: 'resource', resource: { uri: 'file:///a.txt', mimeType: 'text/plain', text: 'body' } },
        { type: 'resource', resource: { uri: 'file:///b.bin', blob: 'AAAA' } },
        { type: 'resource_link', uri: 'file:///c', name: 'c', description: 'the c file' },
      ],
      structuredContent: { ok: true },
      isError: true,
    })
    expect(out).toEqual({
      content: [
        { type: 'text', text: 't' },
        { type: 'image', mediaType: 'image/png', data: 'aGk=' },
        { type: 'text', text: '[audio audio/wav, 3 bytes, not shown to the model]' },
        { type: 'text', text: '[resource file:///a.txt (text/plain)]\nbody' },
        { type: 'text', text: '[resource file:///b.bin, 3 bytes of binary data, not shown to the model]' },
        { type: 'text', text: '[resource link file:///c "c"] the c file' },
      ],
      structured: { ok: true },
      isError: true,
    })
  })

  it('shows a legacy toolResult as JSON text', () => {
    expect(mapResult({ toolResult: { n: 1 } })).toEqual({ content: [{ type: 'text', text: '{"n":1}' }] })
  })
})

describe('.mcp.json', () => {
  it('names the file and the field of a malformed entry', () => {
    expect(() => parseMcpFile('/p/.mcp.json', '{"mcpServers":{"gh":{"command":"x","args":"--y"}}}')).toThrow(
      '/p/.mcp.json: mcpServers.gh.args: expected an array of strings, got "--y"',
    )
    expect(() => parseMcpFile('/p/.mcp.json', '{"mcpServers":{"gh":{"args":[]}}}')).toThrow(
      'mcpServers.gh: needs "command" (stdio) or "url" (http, sse)',
    )
    expect(() => parseMcpFile('/p/.mcp.json', '{"mcpServers": [')).toThrow(/\/p\/\.mcp\.json: not valid JSON/)
    expect(() => parseMcpFile('/p/.mcp.json', '{"mcpServers": 3}')).toThrow(
      'mcpServers: expected an object of server configs',
    )
    expect(() =>
      parseMcpFile('/p/.mcp.json', '{"mcpServers":{"r":{"url":"http://x","oauth":"yes"}}}'),
    ).toThrow('mcpServers.r.oauth: expected false or an object of OAuth settings, got "yes"')
  })

  it("reads a remote server's oauth settings, ignoring fields other clients add", () => {
    const servers = parseMcpFile(
      '/p/.mcp.json',
      '{"mcpServers":{"r":{"type":"http","url":"http://x","oauth":{"clientId":"c","callbackPort":8123,"otherClient":1}},"off":{"url":"http://y","oauth":false}}}',
    )
    expect(servers.r).toMatchObject({ oauth: { clientId: 'c', callbackPort: 8123 } })
    expect(servers.r && 'oauth' in servers.r && servers.r.oauth).not.toHaveProperty('otherClient')
    expect(servers.off).toMatchObject({ oauth: false })
  })

  it('stops setup with that error when the project file is malformed', async () => {
    await writeFile(join(dir, '.mcp.json'), '{"mcpServers":{"gh":{"command":"x","env":{"A":1}}}}')
    const failure = await mcpKernel({}, { cwd: dir }).then(
      () => undefined,
      (error: unknown) => error,
    )
    const text = `${String(failure)} ${String((failure as { cause?: unknown })?.cause)}`
    expect(text).toContain(`${join(dir, '.mcp.json')}: mcpServers.gh.env: expected an object of strings`)
  })

  it('loads servers from .mcp.json, with config winning per server and able to disable one', async () => {
    await writeFile(
      join(dir, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          fault: { command: process.execPath, args: [FAULT_SERVER], env: { DECLARED: 'from-file' } },
          other: { command: process.execPath, args: [FAULT_SERVER], env: { DECLARED: 'other-file' } },
          gone: { command: process.execPath, args: [FAULT_SERVER] },
        },
      }),
    )
    const ctx = await mcpKernel(
      {
        mcpServers: {
          other: { command: process.execPath, args: [FAULT_SERVER], env: { DECLARED: 'from-config' } },
          gone: { disabled: true },
        },
      },
      { cwd: dir },
    )
    try {
      const env = async (server: string) =>
        textOf(await runTool(ctx.registry(), `mcp__${server}__env`, { name: 'DECLARED' }))
      expect(await env('fault')).toBe('from-file')
      expect(await env('other')).toBe('from-config')
      expect(ctx.servers().get('gone')).toMatchObject({ status: 'disabled' })
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('starts and lists nothing when no server is configured', async () => {
    const ctx = await mcpKernel({ mcpServers: {} }, { cwd: dir })
    expect(ctx.servers().list()).toEqual([])
    await ctx.kernel.stop()
  })
})

describe('tau mcp add / remove', () => {
  async function command(name: string) {
    const ctx = await mcpKernel({}, { cwd: dir, start: false })
    await ctx.kernel.start({ until: 'setup' })
    const found = ctx.kernel.resolve(cliCommandsRef).find((c) => c.name === name) as CliCommand
    expect(found.needs ?? 'setup').toBe('setup')
    return { ctx, command: found }
  }
  async function run(name: string, args: unknown[], options: Record<string, unknown> = {}) {
    const { ctx, command: cmd } = await command(name)
    const out = new PassThrough()
    let text = ''
    out.on('data', (d) => {
      text += String(d)
    })
    try {
      const code = await cmd.run({
        args: args as string[],
        options,
        stdout: out,
        stderr: out,
        stdin: new PassThrough(),
        signal: new AbortController().signal,
      })
      return { code, text }
    } finally {
      await ctx.kernel.stop()
    }
  }
  const file = () => join(dir, '.mcp.json')

  it('adds stdio and remote servers, keeping what else is in the file, and removes them', async () => {
    await writeFile(file(), JSON.stringify({ other: 'kept', mcpServers: { a: { command: 'a' } } }))
    expect(
      (await run('mcp add', ['gh', ['npx', '-y', 'server-github']], { env: ['TOKEN=${GH_TOKEN}'] })).code,
    ).toBe(0)
    expect(
      (
        await run('mcp add', ['remote', []], {
          url: 'https://example.test/mcp',
          header: ['Authorization: Bearer x'],
        })
      ).code,
    ).toBe(0)
    expect(
      (await run('mcp add', ['old', []], { url: 'https://example.test/sse', transport: 'sse' })).code,
    ).toBe(0)
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({
      other: 'kept',
      mcpServers: {
        a: { command: 'a' },
        gh: { command: 'npx', args: ['-y', 'server-github'], env: { TOKEN: '${GH_TOKEN}' } },
        remote: { type: 'http', url: 'https://example.test/mcp', headers: { Authorization: 'Bearer x' } },
        old: { type: 'sse', url: 'https://example.test/sse' },
      },
    })
    const removed = await run('mcp remove', ['gh'])
    expect(removed).toEqual({ code: 0, text: `removed MCP server 'gh' from ${file()}\n` })
    expect(Object.keys(JSON.parse(await readFile(file(), 'utf8')).mcpServers)).toEqual(['a', 'remote', 'old'])
    expect((await run('mcp remove', ['nope'])).code).toBe(1)
  })

  it('refuses bad arguments with a usage error', async () => {
    await expect(run('mcp add', ['gh', []])).rejects.toMatchObject({ code: 'TAU_MCP_USAGE' })
    await expect(run('mcp add', ['bad name', ['x']])).rejects.toMatchObject({ code: 'TAU_MCP_USAGE' })
    await expect(run('mcp add', ['r', []], { url: 'not a url' })).rejects.toMatchObject({
      code: 'TAU_MCP_USAGE',
    })
    await expect(run('mcp add', ['r', []], { url: 'http://x.test', transport: 'ws' })).rejects.toMatchObject({
      code: 'TAU_MCP_USAGE',
    })
  })
})
