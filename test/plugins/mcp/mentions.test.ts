/**
 * `@server:uri` mentions: found in a prompt, resolved through the server's resources (the real
 * server-everything), attached to what the model gets; unknown servers and resources leave the
 * mention as typed with a note and a warning; size limits cut long contents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import agent, { agentRuntimeRef } from '../../../plugins/agent/index.js'
import mcp, { findMentions, mcpServersRef, resolveMentions } from '../../../plugins/mcp/index.js'
import providerScripted, { scriptedProviderRef } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools from '../../../plugins/tools/index.js'
import { EVERYTHING } from './helpers.js'

describe('findMentions', () => {
  it('finds @server:uri of configured servers, and any @name:scheme://', () => {
    const found = findMentions(
      'Read @docs:guide/intro.md, then (@everything:demo://a/b). Ask @alice:later or @typo:demo://x.',
      ['docs', 'everything'],
    )
    expect(found.map((m) => m.text)).toEqual([
      '@docs:guide/intro.md',
      '@everything:demo://a/b',
      '@typo:demo://x',
    ])
    expect(found[1]).toEqual({ text: '@everything:demo://a/b', server: 'everything', uri: 'demo://a/b' })
  })

  it('ignores e-mail addresses and repeated mentions', () => {
    expect(findMentions('mail ada@docs:x and @docs:x @docs:x', ['docs']).map((m) => m.text)).toEqual([
      '@docs:x',
    ])
  })
})

describe('resolveMentions limits', () => {
  const source = {
    names: ['s'],
    readResource: async (server: string, uri: string) => ({
      server,
      uri,
      contents: [{ uri, mimeType: 'text/plain', text: 'x'.repeat(100) }],
    }),
  }

  it('cuts a long resource, and stops at the total', async () => {
    const { context, notices } = await resolveMentions('@s:a @s:b @s:c', source, {
      perResource: 60,
      total: 100,
      count: 10,
    })
    expect(context[0]).toContain('[... cut: ')
    expect(context).toHaveLength(2)
    expect(notices).toEqual(['@s:c was not attached: the mentions of this prompt reached 100 characters'])
  })

  it('reads at most `count` mentions', async () => {
    const { context, notices } = await resolveMentions('@s:a @s:b', source, {
      perResource: 1000,
      total: 10_000,
      count: 1,
    })
    expect(context).toHaveLength(1)
    expect(notices).toEqual(['@s:b was not attached: at most 1 mentions are read per prompt'])
  })
})

describe('mentions in an agent run', () => {
  let kernel: Awaited<ReturnType<typeof createTestKernel>>

  beforeAll(async () => {
    kernel = await createTestKernel({
      plugins: [providers, providerScripted, sandbox, tools, agent, mcp],
      config: {
        model: 'scripted:mentions',
        providers: { scripted: { turns: [{ text: 'one' }, { text: 'two' }] } },
        mcpServers: { everything: { command: EVERYTHING, args: ['stdio'] } },
      },
    })
  })

  afterAll(async () => {
    await kernel?.stop()
  })

  async function modelPrompt(prompt: string): Promise<string> {
    const session = kernel.resolve(agentRuntimeRef).createSession()
    for await (const _ of session.run(prompt)) {
      // run to the end
    }
    await session.close()
    const request = kernel.resolve(scriptedProviderRef).requests.at(-1)
    const user = request?.messages.filter((m: Message) => m.role === 'user').at(-1)
    return typeof user?.content === 'string' ? user.content : JSON.stringify(user?.content)
  }

  it("attaches the mentioned resource's contents after the prompt, the mention kept as typed", async () => {
    const uri = 'demo://resource/dynamic/text/1'
    const expected = await kernel.resolve(mcpServersRef).readResource('everything', uri)
    const text = await modelPrompt(`Summarise @everything:${uri} please.`)
    expect(text.startsWith(`Summarise @everything:${uri} please.\n\n`)).toBe(true)
    expect(text).toContain(`Contents of @everything:${uri} (a resource of the MCP server 'everything'):`)
    // server-everything's dynamic resources say when they were made, to the second: the read
    // above and the one for the prompt may fall in different seconds.
    const clock = /\d{1,2}:\d{2}:\d{2}(?:\s?[AP]M)?/
    const [before, after] = expected.contents[0]!.text!.split(clock)
    expect(before).toContain('Resource 1:')
    expect(text).toMatch(new RegExp(`${escapeRegExp(before!)}${clock.source}${escapeRegExp(after ?? '')}`))
  })

  it('an unknown resource or server leaves the mention, with a note for the model and a warning', async () => {
    const text = await modelPrompt('Look at @everything:demo://nope/1 and @nobody:demo://x')
    expect(text.startsWith('Look at @everything:demo://nope/1 and @nobody:demo://x\n\n')).toBe(true)
    expect(text).toMatch(/\(@everything:demo:\/\/nope\/1 could not be attached: .+\)/)
    expect(text).toContain(
      "(@nobody:demo://x could not be attached: there is no MCP server 'nobody' (servers: everything))",
    )
    const warnings = kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
    expect(warnings.some((w) => w.startsWith('@everything:demo://nope/1 was not attached'))).toBe(true)
    expect(warnings.some((w) => w.startsWith('@nobody:demo://x was not attached'))).toBe(true)
  })
})

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
