/**
 * A session's own MCP servers (its settings' `mcpServers`): connected when the session is
 * created, their tools in an overlay only that session sees, closed with it. Real
 * server-everything over stdio, the agent loop on the scripted model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import agent, { type AgentEvent, type AgentSession, agentRuntimeRef } from '../../../plugins/agent/index.js'
import mcp, { mcpServersRef, ownServers } from '../../../plugins/mcp/index.js'
import providerScripted from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools, { sessionToolsRef, toolRegistryRef } from '../../../plugins/tools/index.js'
import { EVERYTHING, FAULT_SERVER } from './helpers.js'

let kernel: Awaited<ReturnType<typeof createTestKernel>>

beforeAll(async () => {
  kernel = await createTestKernel({
    plugins: [providers, providerScripted, sandbox, tools, agent, mcp],
    config: {
      model: 'scripted:own',
      providers: {
        scripted: {
          turns: [
            { toolCalls: [{ id: 'e1', name: 'mcp__mine__echo', input: { message: 'only mine' } }] },
            { text: 'a done' },
            { toolCalls: [{ id: 'e2', name: 'mcp__mine__echo', input: { message: 'not yours' } }] },
            { text: 'b done' },
          ],
        },
      },
      mcpServers: { shared: { command: process.execPath, args: [FAULT_SERVER] } },
    },
  })
})

afterAll(async () => {
  await kernel?.stop()
})

async function run(session: AgentSession, prompt: string): Promise<AgentEvent[]> {
  const events: AgentEvent[] = []
  for await (const event of session.run(prompt)) events.push(event)
  return events
}

function startTools(events: AgentEvent[]): string[] {
  const start = events.find((e) => e.type === 'session-start')
  return start?.type === 'session-start' ? [...start.tools] : []
}

describe("a session's own MCP servers", () => {
  it('are seen by that session alone, connected before its first turn, and closed with it', async () => {
    const runtime = kernel.resolve(agentRuntimeRef)
    const a = runtime.createSession({
      id: 'session-a',
      allowedTools: ['mcp__mine__echo'],
      settings: { mcpServers: { mine: { command: EVERYTHING, args: ['stdio'] } } },
    })
    const b = runtime.createSession({ id: 'session-b', allowedTools: ['mcp__mine__echo'] })

    const aEvents = await run(a, 'echo')
    expect(startTools(aEvents)).toContain('mcp__mine__echo')
    const aEnd = aEvents.find((e) => e.type === 'tool-end')
    expect(aEnd?.type === 'tool-end' && aEnd.result.isError !== true).toBe(true)
    expect(JSON.stringify(aEnd)).toContain('Echo: only mine')

    const bEvents = await run(b, 'echo')
    expect(startTools(bEvents)).not.toContain('mcp__mine__echo')
    const bEnd = bEvents.find((e) => e.type === 'tool-end')
    expect(bEnd?.type === 'tool-end' && bEnd.result.isError).toBe(true)
    expect(JSON.stringify(bEnd)).not.toContain('Echo: not yours')

    // The global registry and the global server list know nothing of the session's server.
    expect(kernel.resolve(toolRegistryRef).get('mcp__mine__echo')).toBeUndefined()
    expect(
      kernel
        .resolve(mcpServersRef)
        .list()
        .map((s) => s.name),
    ).toEqual(['shared'])

    await a.close()
    await b.close()
  })

  it('disconnect when the session scope is disposed; a session without its own servers gets none', async () => {
    const scope = kernel.createSession({
      id: 'scope-a',
      settings: { mcpServers: { mine: { command: EVERYTHING, args: ['stdio'] } } },
    })
    const own = scope.resolve(sessionToolsRef)
    expect(own).toBeDefined()
    await own!.ready()
    expect(own!.registry.get('mcp__mine__echo')).toBeDefined()
    // The overlay lists the global tools too (the global shared server's).
    expect(own!.registry.list().some((t) => t.name.startsWith('mcp__shared__'))).toBe(true)
    await scope.dispose()
    expect(own!.registry.get('mcp__mine__echo')).toBeUndefined()
    const plain = kernel.createSession({ id: 'scope-b' })
    expect(plain.resolve(sessionToolsRef)).toBeUndefined()
    await plain.dispose()
  })

  it('take only names the global servers do not have; a global name is refused, not changed', () => {
    const warnings: string[] = []
    const logger = { warn: (m: string) => warnings.push(m) } as unknown as Parameters<typeof ownServers>[3]
    const global = { shared: { command: 'x', args: [], env: {} } }
    const own = ownServers(
      {
        id: 's1',
        cwd: '/',
        overrides: {
          mcpServers: {
            shared: { command: 'y', args: [], env: {} },
            mine: { command: 'z', args: [], env: {} },
          },
        },
        settings: () => undefined,
      },
      global,
      ['shared', 'from-file'],
      logger,
    )
    expect(Object.keys(own)).toEqual(['mine'])
    expect(warnings.join('\n')).toMatch(
      /its MCP server 'shared' is not connected: a global server has that name/,
    )
    // The global entry as merged in unchanged is not the session's.
    expect(
      ownServers(
        { id: 's2', cwd: '/', overrides: { mcpServers: global }, settings: () => undefined },
        global,
        ['shared'],
        logger,
      ),
    ).toEqual({})
  })
})
