/** tau as a library: createAgent() assembles a kernel, runs prompts in-process, and closes. */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { definePreset } from '../../kernel/index.js'
import providerScripted from '../../plugins/provider-scripted/index.js'
import providers from '../../plugins/providers/index.js'
import { defineTool } from '../../plugins/tools/registry.js'
import { createAgent } from '../../sdk/create-agent.js'
import {
  allowAll,
  collect,
  permissionsPlugin,
  resultOf,
  tempDir,
  toolsPlugin,
} from '../plugins/agent/helpers.js'

const upper = defineTool({
  name: 'Upper',
  description: 'upper-cases',
  input: z.object({ text: z.string() }),
  async execute({ text }) {
    return text.toUpperCase()
  },
})

describe('createAgent', () => {
  it('runs prompts in-process over the event stream, keeps the conversation, and closes the kernel', async () => {
    const home = await tempDir('tau-home-')
    const project = await tempDir()
    const agent = await createAgent({
      preset: definePreset({ name: 'embedded', plugins: [providers, providerScripted] }),
      plugins: [toolsPlugin([upper]), permissionsPlugin(allowAll, [])],
      cwd: project.dir,
      tauHome: home.dir,
      logLevel: 'silent',
      config: {
        model: 'scripted:demo',
        providers: {
          scripted: {
            turns: [
              { toolCalls: [{ id: 'u', name: 'Upper', input: { text: 'quiet' } }] },
              { text: 'QUIET it is.' },
              { text: 'Second answer.' },
            ],
          },
        },
      },
    })
    try {
      expect(agent.kernel.plugins.map((p) => p.name)).toContain('agent')
      const first = await collect(agent.run('shout quiet'))
      expect(resultOf(first)).toMatchObject({ stopReason: 'end-turn', text: 'QUIET it is.', turns: 2 })
      const start = first.find((e) => e.type === 'session-start')
      expect(start).toMatchObject({ cwd: project.dir, model: 'scripted:demo', tools: ['Upper'] })
      const second = await collect(agent.run('and again'))
      expect(resultOf(second).text).toBe('Second answer.')
      expect(second.every((e) => e.sessionId === first[0]!.sessionId)).toBe(true)
      const other = agent.session({ model: 'scripted:other' })
      expect(other.id).not.toBe(first[0]!.sessionId)
      expect(other.conversation.length).toBe(0)
    } finally {
      await agent.close()
      await agent.close()
      await home.remove()
      await project.remove()
    }
    expect(agent.kernel.state).toBe('stopped')
  })

  it('fails to start with the kernel error when a dependency of the agent is missing', async () => {
    const home = await tempDir('tau-home-')
    try {
      await expect(
        createAgent({
          preset: 'minimal',
          plugins: [providers],
          tauHome: home.dir,
          logLevel: 'silent',
          config: { model: 'scripted:x' },
        }),
      ).rejects.toMatchObject({ code: 'TAU_DEPENDENCY_MISSING', message: expect.stringContaining('tools') })
    } finally {
      await home.remove()
    }
  })
})
