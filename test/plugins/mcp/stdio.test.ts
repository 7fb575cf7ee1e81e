// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references in MCP configs are the subject here
/**
 * The MCP plugin against the real reference servers over stdio (server-everything,
 * server-filesystem, server-memory), plus a small fault-injection server for what they cannot
 * do (crash mid-call, paginated lists, list_changed on demand, a server that will not start).
 * One kernel connects them all in parallel, as tau does at start.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliCommandsRef, tauVersion } from '../../../kernel/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { EVERYTHING, FAULT_SERVER, FILESYSTEM, MEMORY, mcpKernel, runTool, textOf, until } from './helpers.js'

let ctx: Awaited<ReturnType<typeof mcpKernel>>
let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tau-mcp-fs-'))
  await writeFile(join(root, 'hello.txt'), 'hello from the filesystem server\n')
  process.env.TAU_MCP_TEST_PLAIN = 'plain-value'
  process.env.TAU_MCP_TEST_API_TOKEN = 'secret-value'
  process.env.TAU_MCP_TEST_VAR = 'expanded-value'
  ctx = await mcpKernel({
    mcpServers: {
      everything: { command: EVERYTHING, args: ['stdio'] },
      // Without roots: server-filesystem would serve the workspace roots instead of its args.
      fs: { command: FILESYSTEM, args: [root], roots: false },
      memory: { command: MEMORY, env: { MEMORY_FILE_PATH: join(root, 'memory.jsonl') } },
      fault: {
        command: process.execPath,
        args: [FAULT_SERVER],
        env: {
          DECLARED: 'declared-value',
          FROM_VAR: '${TAU_MCP_TEST_VAR}',
          WITH_DEFAULT: '${TAU_MCP_TEST_UNSET:-the-default}',
        },
        toolTimeoutMs: 1500,
        retry: { baseDelayMs: 100 },
      },
      bad: { command: join(root, 'no-such-server'), retry: { baseDelayMs: 60_000 } },
      refuses: {
        command: process.execPath,
        args: [FAULT_SERVER, '--fail-start'],
        retry: { baseDelayMs: 60_000 },
      },
      unset: { command: '${TAU_MCP_TEST_NOT_SET}', retry: { baseDelayMs: 60_000 } },
      off: { command: EVERYTHING, disabled: true },
    },
  })
})

afterAll(async () => {
  await ctx?.kernel.stop()
  await rm(root, { recursive: true, force: true })
})

describe('mcp over stdio: lifecycle', () => {
  it('connects the servers in parallel at start and reports each one', () => {
    const byName = Object.fromEntries(
      ctx
        .servers()
        .list()
        .map((s) => [s.name, s]),
    )
    expect(byName.everything).toMatchObject({ transport: 'stdio', status: 'connected' })
    expect(byName.fs).toMatchObject({ status: 'connected' })
    expect(byName.memory).toMatchObject({ status: 'connected' })
    expect(byName.fault).toMatchObject({ status: 'connected' })
    expect(byName.off).toMatchObject({ status: 'disabled', tools: [] })
  })

  it('marks a server whose command does not exist as failed with the reason, and tau keeps running', () => {
    const bad = ctx.servers().get('bad')
    expect(bad).toMatchObject({ status: 'failed', tools: [], attempts: 1 })
    expect(bad?.error).toMatch(/ENOENT/)
    expect(ctx.kernel.state).toBe('running')
  })

  it("includes the server's last stderr line in the reason when it exits at start", () => {
    expect(ctx.servers().get('refuses')?.error).toContain('refusing to start')
  })

  it('fails a server whose ${VAR} is not set, naming the variable', () => {
    expect(ctx.servers().get('unset')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('TAU_MCP_TEST_NOT_SET'),
    })
  })

  it('writes server stderr to the logger, never to stdout', () => {
    expect(ctx.kernel.logs.some((r) => r.message.includes('[refuses] fault-server: refusing to start'))).toBe(
      true,
    )
  })

  it('tau mcp list prints each server, its transport, status and tools', async () => {
    const list = ctx.kernel.resolve(cliCommandsRef).find((c) => c.name === 'mcp list')
    const stdout = new PassThrough()
    let text = ''
    stdout.on('data', (d) => {
      text += String(d)
    })
    const code = await list?.run({
      args: [],
      options: {},
      stdout,
      stderr: new PassThrough(),
      stdin: new PassThrough(),
      signal: new AbortController().signal,
    })
    expect(code).toBe(1) // some servers failed
    expect(text).toMatch(/^everything {2}stdio {2}connected$/m)
    expect(text).toContain('mcp__everything__echo')
    expect(text).toMatch(/^bad {2}stdio {2}failed: .*ENOENT/m)
    expect(text).toMatch(/^off {2}stdio {2}disabled$/m)
    expect(text).toContain(
      'servers a session was given by tau serve, an editor or the SDK are its own: /mcp in that session shows them',
    )
  })
})

describe('mcp over stdio: tools of server-everything', () => {
  it('registers each tool as mcp__<server>__<tool> with its annotations and input schema', () => {
    const echo = ctx.registry().get('mcp__everything__echo')
    expect(echo?.annotations).toEqual({
      readOnly: true,
      destructive: false,
      idempotent: true,
      openWorld: false,
    })
    expect(echo?.inputSchema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } } })
    expect(ctx.registry().get('mcp__everything__gzip-file-as-resource')?.annotations).toMatchObject({
      readOnly: false,
      openWorld: true,
    })
    // Task-only tools are left out (tau does not do MCP tasks yet).
    expect(ctx.registry().get('mcp__everything__simulate-research-query')).toBeUndefined()
  })

  it('calls a tool and maps its text result', async () => {
    const out = await runTool(ctx.registry(), 'mcp__everything__echo', { message: 'hi tau' })
    expect(out).toEqual({ content: [{ type: 'text', text: 'Echo: hi tau' }] })
  })

  it("rejects input that does not match the server's schema before calling it", async () => {
    await expect(runTool(ctx.registry(), 'mcp__everything__get-sum', { a: 'one', b: 2 })).rejects.toThrow(
      /invalid input: .*a/,
    )
    expect(textOf(await runTool(ctx.registry(), 'mcp__everything__get-sum', { a: 1, b: 2 }))).toContain('3')
  })

  it('adds one listener to the run signal that many calls share, not one per call', async () => {
    const { EventEmitter } = await import('node:events')
    const run = new AbortController()
    for (let i = 0; i < 12; i++) {
      await runTool(ctx.registry(), 'mcp__everything__echo', { message: `call ${i}` }, { signal: run.signal })
    }
    // One relay per run signal aborts whichever calls are in flight (see call-signal.ts).
    expect(EventEmitter.getEventListeners(run.signal, 'abort')).toHaveLength(1)
  })

  it('maps an image result to an image part', async () => {
    const out = await runTool(ctx.registry(), 'mcp__everything__get-tiny-image', {})
    const image = out.content.find((p) => p.type === 'image')
    expect(image).toMatchObject({
      type: 'image',
      mediaType: 'image/png',
      data: expect.stringMatching(/^iVBOR/),
    })
  })

  it('maps an embedded resource to text with its uri', async () => {
    const out = await runTool(ctx.registry(), 'mcp__everything__get-resource-reference', {
      resourceType: 'Text',
      resourceId: 1,
    })
    expect(textOf(out)).toMatch(/\[resource demo:\/\/resource\/static\/document\/|\[resource [a-z]+:\/\//)
  })

  it('maps resource links to text with their uri', async () => {
    const out = await runTool(ctx.registry(), 'mcp__everything__get-resource-links', { count: 2 })
    expect(out.content.filter((p) => p.type === 'text' && p.text.startsWith('[resource link ')).length).toBe(
      2,
    )
  })

  it('passes structuredContent through as structured', async () => {
    const out = await runTool(ctx.registry(), 'mcp__everything__get-structured-content', {
      location: 'New York',
    })
    expect(out.structured).toMatchObject({ temperature: expect.any(Number) })
  })

  it('reports progress notifications through ctx.progress', async () => {
    const progress: Array<{ message: string; data: unknown }> = []
    const out = await runTool(
      ctx.registry(),
      'mcp__everything__trigger-long-running-operation',
      { duration: 0.3, steps: 3 },
      { progress },
    )
    expect(textOf(out)).toContain('completed')
    // The SDK drops a progress notification that arrives together with the result (it handles
    // notifications a microtask later than responses), so the last step may be missing.
    expect(progress.slice(0, 2)).toEqual([
      { message: '1/3', data: { progress: 1, total: 3 } },
      { message: '2/3', data: { progress: 2, total: 3 } },
    ])
  })
})

describe('mcp over stdio: server-filesystem and server-memory', () => {
  it('reads and writes files in the root through server-filesystem', async () => {
    const read = await runTool(ctx.registry(), 'mcp__fs__read_text_file', { path: join(root, 'hello.txt') })
    expect(textOf(read)).toContain('hello from the filesystem server')
    await runTool(ctx.registry(), 'mcp__fs__write_file', { path: join(root, 'out.txt'), content: 'written' })
    expect(await readFile(join(root, 'out.txt'), 'utf8')).toBe('written')
    expect(ctx.registry().get('mcp__fs__write_file')?.annotations).toMatchObject({ destructive: true })
  })

  it("returns the server's isError result as an error output", async () => {
    const out = await runTool(ctx.registry(), 'mcp__fs__read_text_file', { path: '/etc/hostname' })
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/denied|outside/i)
  })

  it('creates and reads entities through server-memory (its env reached the process)', async () => {
    await runTool(ctx.registry(), 'mcp__memory__create_entities', {
      entities: [{ name: 'tau', entityType: 'project', observations: ['speaks MCP'] }],
    })
    const graph = await runTool(ctx.registry(), 'mcp__memory__read_graph', {})
    expect(graph.structured).toMatchObject({ entities: [{ name: 'tau', observations: ['speaks MCP'] }] })
    expect(await readFile(join(root, 'memory.jsonl'), 'utf8')).toContain('speaks MCP')
  })
})

describe('mcp over stdio: faults, environment, pagination, list_changed, cancellation', () => {
  it('lists every page of tools', () => {
    const names = ctx.servers().get('fault')?.tools
    expect(names).toEqual([
      'mcp__fault__pid',
      'mcp__fault__crash',
      'mcp__fault__add-tool',
      'mcp__fault__env',
      'mcp__fault__wait-for-cancel',
      'mcp__fault__sample-anyway',
      'mcp__fault__client',
      'mcp__fault__big',
      'mcp__fault__content-only-structured',
    ])
  })

  it("introduces itself as tau with tau's version", async () => {
    const info = JSON.parse(textOf(await runTool(ctx.registry(), 'mcp__fault__client', {})))
    expect(info).toEqual({ name: 'tau', version: tauVersion() })
    expect(tauVersion()).not.toBe('0.0.0')
  })

  it('gives a stdio server an allowlisted environment plus its declared, expanded env', async () => {
    const env = async (name: string) => textOf(await runTool(ctx.registry(), 'mcp__fault__env', { name }))
    expect(await env('PATH')).toBe(process.env.PATH)
    expect(await env('DECLARED')).toBe('declared-value')
    expect(await env('FROM_VAR')).toBe('expanded-value')
    expect(await env('WITH_DEFAULT')).toBe('the-default')
    expect(await env('TAU_MCP_TEST_PLAIN')).toBe('(unset)')
    expect(await env('TAU_MCP_TEST_API_TOKEN')).toBe('(unset)')
  })

  it('shows structured content as text when the server sends no text', async () => {
    const out = await runTool(ctx.registry(), 'mcp__fault__content-only-structured', {})
    expect(out).toEqual({ content: [{ type: 'text', text: '{"answer":42}' }], structured: { answer: 42 } })
  })

  it('refreshes the registry on notifications/tools/list_changed', async () => {
    expect(ctx.registry().get('mcp__fault__added')).toBeUndefined()
    await runTool(ctx.registry(), 'mcp__fault__add-tool', {})
    await until(() => ctx.registry().get('mcp__fault__added') !== undefined, HANG_LIMIT_MS, 'the added tool')
    expect(textOf(await runTool(ctx.registry(), 'mcp__fault__added', {}))).toBe('the added tool ran')
  })

  it('sends notifications/cancelled when the tool call is aborted', async () => {
    const controller = new AbortController()
    const call = runTool(ctx.registry(), 'mcp__fault__wait-for-cancel', {}, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('user pressed Esc')), 100)
    await expect(call).rejects.toThrow()
    await until(
      () => ctx.kernel.logs.some((r) => /\[fault\] fault-server: request \S+ cancelled/.test(r.message)),
      HANG_LIMIT_MS,
      'the server to see the cancellation',
    )
    expect(ctx.servers().get('fault')?.status).toBe('connected')
  })

  it('times a call out after toolTimeoutMs, and the server hears of it', async () => {
    const before = ctx.kernel.logs.filter((r) => r.message.includes('cancelled')).length
    // The message names the timeout that ended it; how long that took is no test of a loaded machine.
    await expect(runTool(ctx.registry(), 'mcp__fault__wait-for-cancel', {})).rejects.toThrow(
      "MCP tool 'wait-for-cancel' of 'fault' timed out after 1500 ms",
    )
    await until(
      () => ctx.kernel.logs.filter((r) => r.message.includes('cancelled')).length > before,
      HANG_LIMIT_MS,
      'the cancellation after the timeout',
    )
  })

  it('gives a call to a server that crashes an error, unregisters its tools, and restarts it', async () => {
    const pidBefore = textOf(await runTool(ctx.registry(), 'mcp__fault__pid', {}))
    await expect(runTool(ctx.registry(), 'mcp__fault__crash', {})).rejects.toThrow(
      /MCP server 'fault' closed the connection during the call/,
    )
    expect(ctx.servers().get('fault')).toMatchObject({ status: 'failed', tools: [] })
    expect(ctx.registry().get('mcp__fault__pid')).toBeUndefined()
    await until(() => ctx.servers().get('fault')?.status === 'connected', HANG_LIMIT_MS, 'the restart')
    const pidAfter = textOf(await runTool(ctx.registry(), 'mcp__fault__pid', {}))
    expect(pidAfter).not.toBe(pidBefore)
    expect(ctx.servers().get('fault')?.attempts).toBe(0)
  })
})
