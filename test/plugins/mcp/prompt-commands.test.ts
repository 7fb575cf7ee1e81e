/**
 * MCP prompts as slash commands, through the slash-commands registry (the one the terminal and
 * `tau start -p "/name args"` use), against server-everything's real prompts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import mcp, { bindPromptArguments, type PromptEntry, promptText } from '../../../plugins/mcp/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import slashCommands, { slashCommandsRef } from '../../../plugins/slash-commands/index.js'
import tools from '../../../plugins/tools/index.js'
import { EVERYTHING } from './helpers.js'

let kernel: Awaited<ReturnType<typeof createTestKernel>>
const registry = () => kernel.resolve(slashCommandsRef)

beforeAll(async () => {
  kernel = await createTestKernel({
    plugins: [sandbox, tools, slashCommands, mcp],
    config: { mcpServers: { everything: { command: EVERYTHING, args: ['stdio'] } } },
  })
})

afterAll(async () => {
  await kernel?.stop()
})

describe('MCP prompts as slash commands', () => {
  it('lists the prompts of connected servers with their declared arguments', async () => {
    const { commands } = await registry().list()
    const args = commands.find((c) => c.name === 'mcp__everything__args-prompt')
    expect(args).toMatchObject({
      description: 'A prompt with two arguments, one required and one optional',
      argumentHint: '<city> [state]',
      source: 'mcp:everything',
      arguments: [
        { name: 'city', required: true },
        { name: 'state', required: false },
      ],
    })
    expect(commands.map((c) => c.name)).toContain('mcp__everything__simple-prompt')
  })

  it('maps the words to the declared arguments in order; quotes group words', async () => {
    expect((await registry().expand('/mcp__everything__args-prompt Paris'))?.prompt).toBe(
      "What's weather in Paris?",
    )
    expect((await registry().expand('/mcp__everything__args-prompt "New York" NY'))?.prompt).toBe(
      "What's weather in New York, NY?",
    )
  })

  it('takes name=value words by name, the rest in order', async () => {
    expect((await registry().expand('/mcp__everything__args-prompt state=CA Fresno'))?.prompt).toBe(
      "What's weather in Fresno, CA?",
    )
  })

  it('a missing required argument is a TauError naming it, and nothing is fetched', async () => {
    await expect(registry().expand('/mcp__everything__args-prompt state=CA')).rejects.toMatchObject({
      code: 'TAU_MCP_PROMPT_ARGUMENTS',
      plugin: 'mcp',
      message: expect.stringContaining("/mcp__everything__args-prompt needs the argument 'city'"),
      hint: expect.stringContaining('/mcp__everything__args-prompt <city> [state]'),
    })
  })

  it('arguments for a prompt that takes none are an error, not dropped', async () => {
    await expect(registry().expand('/mcp__everything__simple-prompt extra words')).rejects.toMatchObject({
      code: 'TAU_MCP_PROMPT_ARGUMENTS',
      message: "/mcp__everything__simple-prompt takes no arguments, got 'extra words'",
    })
  })

  it('inlines an embedded text resource under its uri', async () => {
    const prompt = (await registry().expand('/mcp__everything__resource-prompt Text 3'))?.prompt ?? ''
    expect(prompt).toMatch(
      /^This prompt includes the Text resource with id: 3\. Please analyze the following resource:\n\n/,
    )
    expect(prompt).toMatch(/\[resource demo:\/\/resource\/dynamic\/text\/3 \(text\/plain\)\]\n.+/)
  })

  it("passes the server's own refusal on", async () => {
    await expect(registry().expand('/mcp__everything__resource-prompt Nope 1')).rejects.toThrow(
      /Invalid resourceType/,
    )
  })
})

describe('binding and rendering', () => {
  const prompt: PromptEntry = {
    server: 's',
    name: 'p',
    command: 'mcp__s__p',
    arguments: [{ name: 'file', required: true }, { name: 'focus' }],
  }

  it('words past the last argument join it, so a one-argument prompt takes the whole text', () => {
    expect(bindPromptArguments(prompt, 'a.ts the error handling please')).toEqual({
      file: 'a.ts',
      focus: 'the error handling please',
    })
    expect(bindPromptArguments(prompt, 'focus=speed a.ts')).toEqual({ file: 'a.ts', focus: 'speed' })
    // A name the prompt does not declare is an ordinary word.
    expect(bindPromptArguments(prompt, 'x=1')).toEqual({ file: 'x=1' })
  })

  it('renders images as a note and a conversation under its roles', () => {
    expect(
      promptText({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look:' },
              { type: 'image', mediaType: 'image/png', data: 'AA==' },
            ],
          },
          { role: 'assistant', content: [{ type: 'text', text: 'I see.' }] },
        ],
      }),
    ).toBe(
      "[user]\nLook:\n\n[image image/png, not included: a slash command's prompt is text]\n\n[assistant]\nI see.",
    )
  })
})
