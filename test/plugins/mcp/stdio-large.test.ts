/**
 * Big results over stdio: tau reads a server's stdout with its own transport, linear in the size
 * of a message, and a message past the server's `maxMessageBytes` fails only the call it answers
 * (the SDK's transport rescanned and copied its whole buffer per chunk, and closed the connection
 * at 10 MB, failing every call in flight). A real stdio server (the fault server) sends the results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineReader, requestIdOf } from '../../../plugins/mcp/stdio-transport.js'
import { FAULT_SERVER, mcpKernel, runTool, textOf } from './helpers.js'

const MiB = 1024 * 1024
let ctx: Awaited<ReturnType<typeof mcpKernel>>

beforeAll(async () => {
  ctx = await mcpKernel({
    mcpServers: {
      roomy: { command: process.execPath, args: [FAULT_SERVER, '--no-resources'] },
      capped: { command: process.execPath, args: [FAULT_SERVER, '--no-resources'], maxMessageBytes: MiB },
    },
  })
})

afterAll(async () => {
  await ctx?.kernel.stop()
})

describe('mcp over stdio: big results', () => {
  it('reads a 20 MB tool result from a real server', async () => {
    const out = await runTool(ctx.registry(), 'mcp__roomy__big', { bytes: 20 * MiB })
    const text = textOf(out)
    // The tool layer may shorten what the model sees; what arrived is the server's text.
    expect(text.startsWith('xxxxxxxx')).toBe(true)
    expect(out.isError ?? false).toBe(false)
    expect(ctx.servers().get('roomy')).toMatchObject({ status: 'connected' })
  })

  it('fails only the call whose result is past maxMessageBytes: the other call and the connection go on', async () => {
    const pidBefore = textOf(await runTool(ctx.registry(), 'mcp__capped__pid', {}))
    const [big, pid] = await Promise.allSettled([
      runTool(ctx.registry(), 'mcp__capped__big', { bytes: 3 * MiB }),
      runTool(ctx.registry(), 'mcp__capped__pid', {}),
    ])
    expect(big.status).toBe('rejected')
    expect(String((big as PromiseRejectedResult).reason)).toMatch(
      /MCP server 'capped' sent a message of 3\.0 MiB, more than its limit of 1\.0 MiB \(mcpServers\.capped\.maxMessageBytes\)/,
    )
    expect(pid).toMatchObject({ status: 'fulfilled' })
    expect(ctx.servers().get('capped')).toMatchObject({ status: 'connected' })
    // The same process still answers: nothing was restarted.
    expect(textOf(await runTool(ctx.registry(), 'mcp__capped__pid', {}))).toBe(pidBefore)
    expect(textOf(await runTool(ctx.registry(), 'mcp__capped__big', { bytes: 1000 }))).toBe('x'.repeat(1000))
  })
})

describe('LineReader', () => {
  it('scans each byte once: 20 MB in 64 KiB chunks is 20 MB of work, and one line', () => {
    const reader = new LineReader(64 * MiB)
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    const total = 20 * MiB
    const lines: string[] = []
    for (let sent = 0; sent < total; sent += chunk.length) {
      for (const out of reader.push(chunk)) if (out.kind === 'line') lines.push(out.text)
    }
    for (const out of reader.push(Buffer.from('\n'))) if (out.kind === 'line') lines.push(out.text)
    expect(lines).toHaveLength(1)
    expect(lines[0]!.length).toBe(total)
    expect(reader.scanned).toBe(total + 1)
  })

  it('splits lines cut anywhere, a multi-byte character and \\r\\n included', () => {
    const reader = new LineReader(1024)
    const bytes = Buffer.from('{"a":"é"}\r\n{"b":2}\n{"c":')
    const out = [...reader.push(bytes.subarray(0, 7)), ...reader.push(bytes.subarray(7))]
    expect(out).toEqual([
      { kind: 'line', text: '{"a":"é"}' },
      { kind: 'line', text: '{"b":2}' },
    ])
    expect(reader.push(Buffer.from('3}\n'))).toEqual([{ kind: 'line', text: '{"c":3}' }])
  })

  it('drops a line past the cap, keeping its id, and reads the next one', () => {
    const reader = new LineReader(100)
    const big = `{"result":{"content":[{"type":"text","text":"${'y'.repeat(5000)}"}]},"jsonrpc":"2.0","id":42}\n{"jsonrpc":"2.0","id":43,"result":{}}\n`
    const bytes = Buffer.from(big)
    const out = []
    for (let i = 0; i < bytes.length; i += 37) out.push(...reader.push(bytes.subarray(i, i + 37)))
    expect(out).toEqual([
      { kind: 'too-large', bytes: big.indexOf('\n'), id: 42 },
      { kind: 'line', text: '{"jsonrpc":"2.0","id":43,"result":{}}' },
    ])
  })

  it('finds a request id at either end of a message', () => {
    expect(requestIdOf('{"result":{"content":[', '"}]},"jsonrpc":"2.0","id":7}')).toBe(7)
    expect(requestIdOf('{"jsonrpc":"2.0","id":"abc","result":{', 'xxx"}]}}')).toBe('abc')
    expect(requestIdOf('{"result":{', 'no id here"}}')).toBeUndefined()
  })
})
