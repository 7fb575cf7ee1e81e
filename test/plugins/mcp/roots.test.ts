/**
 * Roots follow the sessions: a server hears `notifications/roots/list_changed` when an agent
 * session with another working directory starts or ends, and `roots/list` then answers the
 * open sessions' workspace roots (their cwd, real path, plus sandbox.roots) — checked with
 * server-everything's own view of the client's roots.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import agent, { type AgentSession, agentRuntimeRef } from '../../../plugins/agent/index.js'
import mcp from '../../../plugins/mcp/index.js'
import providerScripted from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools, { toolRegistryRef } from '../../../plugins/tools/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { EVERYTHING, runTool, textOf, until } from './helpers.js'

let kernel: Awaited<ReturnType<typeof createTestKernel>>
let home: string
let other: string
let extra: string

beforeAll(async () => {
  home = await realpath(await mkdtemp(join(tmpdir(), 'tau-roots-home-')))
  other = await realpath(await mkdtemp(join(tmpdir(), 'tau-roots-other-')))
  extra = await realpath(await mkdtemp(join(tmpdir(), 'tau-roots-extra-')))
  kernel = await createTestKernel({
    plugins: [providers, providerScripted, sandbox, tools, agent, mcp],
    cwd: home,
    config: {
      model: 'scripted:roots',
      sandbox: { roots: [extra] },
      providers: { scripted: { turns: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] } },
      mcpServers: { everything: { command: EVERYTHING, args: ['stdio'] } },
    },
  })
  await until(
    () => kernel.resolve(toolRegistryRef).get('mcp__everything__get-roots-list') !== undefined,
    HANG_LIMIT_MS,
  )
})

afterAll(async () => {
  await kernel?.stop()
  for (const dir of [home, other, extra]) await rm(dir, { recursive: true, force: true })
})

/** The roots server-everything last received, as URIs. */
async function serverRoots(): Promise<string[]> {
  const text = textOf(await runTool(kernel.resolve(toolRegistryRef), 'mcp__everything__get-roots-list', {}))
  return [...text.matchAll(/URI: (\S+)/g)].map((m) => m[1]!)
}

async function rootsBecome(expected: string[]): Promise<void> {
  let seen: string[] = []
  const end = Date.now() + HANG_LIMIT_MS
  while (Date.now() < end) {
    seen = await serverRoots()
    if (seen.join() === expected.join()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  expect(seen).toEqual(expected)
}

async function started(cwd: string): Promise<AgentSession> {
  const session = kernel.resolve(agentRuntimeRef).createSession({ cwd })
  for await (const _ of session.run('hello')) {
    // the first run fires sessionStart
  }
  return session
}

const uri = (path: string) => pathToFileURL(path).href

describe('per-session roots', () => {
  it('before any session: the roots of a session in the kernel cwd', async () => {
    await rootsBecome([uri(home), uri(extra)])
  })

  it('follow the open sessions: another cwd is added while its session lives, and goes with it', async () => {
    const away = await started(other)
    await rootsBecome([uri(other), uri(extra)])
    const here = await started(home)
    await rootsBecome([uri(other), uri(extra), uri(home)])
    await away.close()
    await rootsBecome([uri(home), uri(extra)])
    await here.close()
    // No session: the default, which is the same list, so nothing changes.
    await rootsBecome([uri(home), uri(extra)])
  })
})
