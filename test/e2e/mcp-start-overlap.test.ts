/**
 * The MCP start overlap, through the real binary: a stdio server's tools from its last
 * connection ($TAU_HOME/cache/mcp-tools) are offered at once, so `tau start -p` makes its first
 * model call while the server still connects, and a call of one of them waits for the
 * connection. The server is the fault server held before it answers anything (--hold-until), so
 * "still connecting" is a state the test controls; the model is the scripted server on loopback,
 * which shows what tau sent and when.
 */
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type Project, REPO_ROOT, useProjects, waitUntil } from './run-tau.js'

const project = useProjects()
const FAULT_SERVER = join(REPO_ROOT, 'test', 'plugins', 'mcp', 'fixtures', 'fault-server.mjs')
let model: ScriptedServer

beforeAll(async () => {
  model = await startScriptedServer({ format: 'openai', script: [] })
})
afterAll(async () => {
  await model?.close()
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A project whose one MCP server is the fault server, in tau.config.json or in .mcp.json. */
async function overlapProject(
  where: 'config' | '.mcp.json',
): Promise<Project & { release: string; pidFile: string }> {
  const p = await project({}, [])
  const release = join(p.tauHome, '..', 'release')
  const pidFile = join(p.tauHome, '..', 'server.pid')
  const servers = {
    fault: {
      command: process.execPath,
      args: [FAULT_SERVER, '--no-resources', '--pid-file', pidFile, '--hold-until', release],
    },
  }
  await p.write({
    'tau.config.json': `${JSON.stringify({
      model: 'openai:scripted-model',
      providers: { openai: { baseURL: `${model.url}/v1` } },
      permissions: { allow: ['mcp__fault__pid'] },
      ...(where === 'config' ? { mcpServers: servers } : {}),
    })}\n`,
    ...(where === '.mcp.json' ? { '.mcp.json': `${JSON.stringify({ mcpServers: servers })}\n` } : {}),
  })
  return Object.assign(p, { release, pidFile })
}

const env = { OPENAI_API_KEY: 'sk-test' }
const toolsOf = (body: unknown) =>
  ((body as { tools?: Array<{ function: { name: string } }> }).tools ?? []).map((t) => t.function.name)

/** A first run with the server released at once: it connects, and its tool list is kept. */
async function prime(p: Awaited<ReturnType<typeof overlapProject>>): Promise<void> {
  await writeFile(p.release, '')
  model.push({ text: 'First.' })
  const first = await p.run(['start', '-p', 'hi'], { env })
  expect(first.code, first.stderr).toBe(0)
  expect(first.stdout.trim()).toBe('First.')
  await rm(p.release)
  await rm(p.pidFile, { force: true })
}

describe('tau start -p with a stdio MCP server it knows from the last run', () => {
  it('makes the model call while the server connects, with the tools it listed last time', async () => {
    const p = await overlapProject('config')
    await prime(p)
    const before = model.requests.length
    model.push({ text: 'Second.' })
    // The server is never released: a run that waited for it would hang (and be killed).
    const second = await p.run(['start', '-p', 'hi'], { env })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout.trim()).toBe('Second.')
    const sent = model.requests.slice(before).find((r) => r.method === 'POST')
    expect(toolsOf(sent?.body)).toContain('mcp__fault__pid')
    // Its process, if it was started at all, went with tau.
    if (existsSync(p.pidFile)) expect(alive(Number(await readFile(p.pidFile, 'utf8')))).toBe(false)
  })

  it('a call of such a tool waits for the connection and gets the server’s answer', async () => {
    const p = await overlapProject('config')
    await prime(p)
    const before = model.requests.length
    model.push({ toolCalls: [{ id: 'call_pid', name: 'mcp__fault__pid', input: {} }] }, { text: 'Done.' })
    const run = p.spawn(['start', '-p', 'pid?', '--output-format', 'stream-json'], { env })
    // The first model call is made while the server is held (it has answered nothing yet).
    await waitUntil(() => model.requests.length > before, 'the first model call', run)
    expect(existsSync(p.release)).toBe(false)
    await writeFile(p.release, '')
    const result = await run.result
    expect(result.code, result.stderr).toBe(0)
    const pid = await readFile(p.pidFile, 'utf8')
    const toolResult = result.stdout.split('\n').find((line) => line.includes('"tool_result"'))
    expect(toolResult).toContain(pid)
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
      type: 'result',
      is_error: false,
      result: 'Done.',
    })
  })

  it("an untrusted project's .mcp.json server is neither offered from the cache nor started", async () => {
    const p = await overlapProject('.mcp.json')
    await prime(p) // trusted (TAU_TRUST=1, the tests' default): connects, kept
    await writeFile(p.release, '') // were it started, it would connect
    const before = model.requests.length
    model.push({ text: 'Untrusted.' })
    const run = await p.run(['start', '-p', 'hi'], { env: { ...env, TAU_TRUST: '0' } })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.trim()).toBe('Untrusted.')
    const sent = model.requests.slice(before).find((r) => r.method === 'POST')
    expect(toolsOf(sent?.body).filter((name) => name.startsWith('mcp__'))).toEqual([])
    expect(existsSync(p.pidFile)).toBe(false)
  })
})
