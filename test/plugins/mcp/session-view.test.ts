/**
 * What a session sees of MCP: its own servers (its settings' `mcpServers`) next to the global
 * ones in `/mcp`, the resource tools, prompts as slash commands and `@server:` mentions — for that
 * session only. Real server-everything over stdio as the session's server, the fault server as
 * the global one, the agent loop on the scripted model, the slash-commands registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import agent, { type AgentEvent, type AgentSession, agentRuntimeRef } from '../../../plugins/agent/index.js'
import mcp from '../../../plugins/mcp/index.js'
import providerScripted, { scriptedProviderRef } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import slashCommands, { slashCommandsRef } from '../../../plugins/slash-commands/index.js'
import tools from '../../../plugins/tools/index.js'
import { EVERYTHING, FAULT_SERVER } from './helpers.js'

let kernel: Awaited<ReturnType<typeof createTestKernel>>
const URI = 'demo://resource/dynamic/text/1'

beforeAll(async () => {
  kernel = await createTestKernel({
    plugins: [providers, providerScripted, sandbox, tools, agent, slashCommands, mcp],
    config: {
      model: 'scripted:own',
      providers: {
        scripted: {
          turns: [
            { toolCalls: [{ id: 'l1', name: 'ListMcpResourcesTool', input: { server: 'mine' } }] },
            { toolCalls: [{ id: 'r1', name: 'ReadMcpResourceTool', input: { server: 'mine', uri: URI } }] },
            { text: 'a done' },
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

/** The text of the user message the model got last (mentions are attached to it). */
function lastPrompt(): string {
  const request = kernel.resolve(scriptedProviderRef).requests.at(-1)
  const user = request?.messages.findLast((m) => m.role === 'user')
  return JSON.stringify(user?.content ?? '')
}

describe("a session's own MCP servers are visible to it alone", () => {
  it('in /mcp, prompts as slash commands, the resource tools and @server: mentions', async () => {
    const runtime = kernel.resolve(agentRuntimeRef)
    const a = runtime.createSession({
      id: 'view-a',
      allowedTools: ['ListMcpResourcesTool', 'ReadMcpResourceTool'],
      settings: { mcpServers: { mine: { command: EVERYTHING, args: ['stdio'] } } },
    })
    const b = runtime.createSession({ id: 'view-b' })

    const aEvents = await run(a, `read @mine:${URI} please`)
    // The mention was attached from the session's own server.
    expect(lastPrompt()).toContain(`Contents of @mine:${URI}`)
    const ends = aEvents.filter((e) => e.type === 'tool-end')
    expect(ends.map((e) => e.type === 'tool-end' && e.result.isError === true)).toEqual([false, false])
    expect(JSON.stringify(ends[0])).toContain('server mine:')
    expect(JSON.stringify(ends[1])).toContain(URI)

    await run(b, `read @mine:${URI} please`)
    expect(lastPrompt()).toContain(`@mine:${URI} could not be attached: there is no MCP server 'mine'`)

    // Prompts of the session's server are that session's slash commands.
    const registry = kernel.resolve(slashCommandsRef)
    const names = async (sessionId?: string) =>
      (await registry.list(sessionId === undefined ? undefined : { sessionId })).commands.map((c) => c.name)
    expect(await names('view-a')).toContain('mcp__mine__simple-prompt')
    expect(await names('view-b')).not.toContain('mcp__mine__simple-prompt')
    expect(await names()).not.toContain('mcp__mine__simple-prompt')
    expect(
      (await registry.expand('/mcp__mine__args-prompt Paris', { sessionId: 'view-a' }))?.prompt,
    ).toContain('Paris')
    expect(await registry.expand('/mcp__mine__args-prompt Paris', { sessionId: 'view-b' })).toBeUndefined()

    // /mcp says which servers the session sees, its own marked.
    const status = async (sessionId: string) => {
      const found = await registry.find('/mcp', { sessionId })
      const said: string[] = []
      await found?.command.run?.('', {
        sessionId,
        signal: new AbortController().signal,
        say: (t) => said.push(t),
      })
      return said.join('\n')
    }
    const aStatus = await status('view-a')
    expect(aStatus).toMatch(/^shared {2}stdio {2}\w+/m)
    expect(aStatus).toMatch(/^mine {2}stdio {2}connected {2}\(this session's own\)$/m)
    expect(aStatus).toContain('mcp__mine__echo')
    const bStatus = await status('view-b')
    expect(bStatus).toMatch(/^shared {2}stdio/m)
    expect(bStatus).not.toContain('mine')

    await a.close()
    await b.close()
    // Closed with its session: no longer seen.
    expect(await names('view-a')).not.toContain('mcp__mine__simple-prompt')
  })
})
