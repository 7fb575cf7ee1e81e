/**
 * What tau offers servers as a client (roots, logging, sampling, elicitation) and what it takes
 * from them besides tools (resources, resource templates, prompts), against the real
 * server-everything over stdio, plus the fault server for pagination and fail-closed sampling.
 */
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliCommandsRef } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import mcp, {
  type ElicitationRequest,
  type McpUserInteraction,
  mcpServersRef,
  type SamplingConfirmation,
} from '../../../plugins/mcp/index.js'
import providerScripted, { scriptedProviderRef } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools, { toolRegistryRef } from '../../../plugins/tools/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import {
  EVERYTHING,
  FAULT_SERVER,
  FILESYSTEM,
  type RunOptions,
  runTool as runToolIn,
  textOf,
  until,
} from './helpers.js'

/** The frontend of the session the calls are made in (see frontend()); none: nobody to ask. */
let attached: McpUserInteraction | undefined
const runTool = (
  r: Parameters<typeof runToolIn>[0],
  name: string,
  input: unknown,
  options: RunOptions = {},
) => runToolIn(r, name, input, { ...(attached ? { interaction: attached } : {}), ...options })

let kernel: Awaited<ReturnType<typeof createTestKernel>>
let cwd: string
let extraRoot: string
let outside: string
const registry = () => kernel.resolve(toolRegistryRef)
const servers = () => kernel.resolve(mcpServersRef)

beforeAll(async () => {
  cwd = await realpath(await mkdtemp(join(tmpdir(), 'tau-mcp-cap-')))
  extraRoot = await realpath(await mkdtemp(join(tmpdir(), 'tau-mcp-root-')))
  outside = await realpath(await mkdtemp(join(tmpdir(), 'tau-mcp-outside-')))
  await writeFile(join(extraRoot, 'in-root.txt'), 'inside a root')
  await writeFile(join(outside, 'outside.txt'), 'outside the roots')
  kernel = await createTestKernel({
    plugins: [sandbox, tools, providers, providerScripted, mcp],
    cwd,
    config: {
      model: 'scripted:sampler',
      sandbox: { roots: [extraRoot] },
      providers: {
        scripted: {
          turns: [
            { text: 'the sampled answer' },
            { text: 'answered without a question' },
            { text: 'always' },
          ],
        },
      },
      mcpServers: {
        everything: { command: EVERYTHING, args: ['stdio'], sampling: true },
        trusted: { command: EVERYTHING, args: ['stdio'], sampling: 'allow', roots: false },
        plain: { command: EVERYTHING, args: ['stdio'], logLevel: 'error' },
        fault: { command: process.execPath, args: [FAULT_SERVER], retry: { baseDelayMs: 50 } },
        // Its args name a directory outside the workspace; with roots it serves the roots instead.
        fs: { command: FILESYSTEM, args: [outside] },
      },
    },
  })
  // server-everything registers its capability-dependent tools after initialize (list_changed).
  await until(
    () => registry().get('mcp__everything__get-roots-list') !== undefined,
    HANG_LIMIT_MS,
    'conditional tools',
  )
})

afterAll(async () => {
  await kernel?.stop()
  await rm(cwd, { recursive: true, force: true })
  await rm(extraRoot, { recursive: true, force: true })
  await rm(outside, { recursive: true, force: true })
})

describe('roots and logging', () => {
  it('answers roots/list with the project directory and sandbox.roots as file URIs', async () => {
    const text = textOf(await runTool(registry(), 'mcp__everything__get-roots-list', {}))
    expect(text).toContain('(2 total)')
    expect(text).toContain(`URI: ${pathToFileURL(cwd).href}`)
    expect(text).toContain(`URI: ${pathToFileURL(extraRoot).href}`)
  })

  it('server-filesystem serves the workspace roots tau declares, not the directory in its args', async () => {
    const read = (path: string) => runTool(registry(), 'mcp__fs__read_text_file', { path })
    // It asks for the roots after initialize; poll until it has switched.
    await until(
      () => kernel.logs.some((r) => r.message.includes('[fs]') && /roots/i.test(r.message)),
      5000,
      'fs roots',
    )
    expect(textOf(await read(join(extraRoot, 'in-root.txt')))).toBe('inside a root')
    const denied = await read(join(outside, 'outside.txt'))
    expect(denied.isError).toBe(true)
    expect(textOf(denied)).toMatch(/Access denied/)
  })

  it("writes the server's notifications/message to the logger at the matching level", async () => {
    await until(
      () =>
        kernel.logs.some((r) =>
          r.message.includes('[everything/everything-server] Roots updated: 2 root(s)'),
        ),
      5000,
      'the roots log message',
    )
    const record = kernel.logs.find((r) => r.message.includes('[everything/everything-server] Roots updated'))
    expect(record?.level).toBe('info')
  })

  it('sets the level a server logs at with logging/setLevel (logLevel)', async () => {
    // `plain` asked for errors only: its info message about roots never arrives.
    await runTool(registry(), 'mcp__plain__get-roots-list', {})
    await until(() =>
      kernel.logs.some((r) => r.message.includes('[everything/everything-server] Roots updated')),
    )
    expect(kernel.logs.some((r) => r.message.includes('[plain/'))).toBe(false)
  })
})

/**
 * A test double of an interactive frontend: it records what it is asked and answers from a
 * script. It shows the contract a frontend implements (UserInteraction's MCP part); the calls
 * that follow are made in its session, until detach().
 */
function frontend(answers: Partial<McpUserInteraction>) {
  const asked: { sampling: SamplingConfirmation[]; elicitation: ElicitationRequest[] } = {
    sampling: [],
    elicitation: [],
  }
  const recorded = <R, A>(
    list: R[],
    answer: ((request: R, signal: AbortSignal) => Promise<A>) | undefined,
  ) =>
    answer
      ? (request: R, signal: AbortSignal) => {
          list.push(request)
          return answer(request, signal)
        }
      : undefined
  const confirmSampling = recorded(asked.sampling, answers.confirmSampling)
  const elicit = recorded(asked.elicitation, answers.elicit)
  const interaction: McpUserInteraction = {
    ...(confirmSampling ? { confirmSampling } : {}),
    ...(elicit ? { elicit } : {}),
  }
  attached = interaction
  const detach = () => {
    attached = undefined
  }
  return { asked, detach, interaction }
}

const sample = (server: string) =>
  runTool(registry(), `mcp__${server}__trigger-sampling-request`, { prompt: 'say hi', maxTokens: 20 })

describe('sampling', () => {
  it('is denied headless (no frontend to confirm it): the server gets the user-rejection error -1', async () => {
    const text = textOf(await sample('everything'))
    expect(text).toMatch(/-1/)
    expect(text).toContain('the user declined the sampling request: there is no user to ask (headless)')
    expect(kernel.resolve(scriptedProviderRef).requests).toHaveLength(0)
  })

  it("asks the frontend with what the server sends; allowed, it is answered by tau's configured model", async () => {
    const ui = frontend({ confirmSampling: async () => ({ action: 'allow' }) })
    try {
      const text = textOf(await sample('everything'))
      expect(text).toContain('the sampled answer')
      expect(text).toContain('"model": "scripted:sampler"')
      expect(ui.asked.sampling).toEqual([
        {
          server: 'everything',
          model: 'scripted:sampler',
          systemPrompt: 'You are a helpful test server.',
          messages: [{ role: 'user', text: expect.stringContaining('say hi') }],
          maxTokens: 20,
        },
      ])
      const request = kernel.resolve(scriptedProviderRef).requests.at(-1)
      expect(request?.messages[0]).toEqual({ role: 'system', content: 'You are a helpful test server.' })
      expect(request?.maxOutputTokens).toBe(20)
    } finally {
      ui.detach()
    }
  })

  it('a denial with a reason reaches the server; the model is not called', async () => {
    const calls = kernel.resolve(scriptedProviderRef).requests.length
    const ui = frontend({ confirmSampling: async () => ({ action: 'deny', reason: 'not now' }) })
    try {
      expect(textOf(await sample('everything'))).toContain('the user declined the sampling request: not now')
      expect(kernel.resolve(scriptedProviderRef).requests).toHaveLength(calls)
    } finally {
      ui.detach()
    }
  })

  it("sampling: 'allow' answers without asking", async () => {
    const ui = frontend({ confirmSampling: async () => ({ action: 'deny' }) })
    try {
      expect(textOf(await sample('trusted'))).toContain('answered without a question')
      expect(ui.asked.sampling).toEqual([])
    } finally {
      ui.detach()
    }
  })

  it('allow-always stops asking for that server', async () => {
    const ui = frontend({ confirmSampling: async () => ({ action: 'allow-always' }) })
    try {
      expect(textOf(await sample('everything'))).toContain('always')
      ui.detach()
      // Detached: headless would deny, but this server was allowed for the rest of the session.
      kernel.resolve(scriptedProviderRef).push({ text: 'still allowed' })
      expect(textOf(await sample('everything'))).toContain('still allowed')
      expect(ui.asked.sampling).toHaveLength(1)
    } finally {
      ui.detach()
    }
  })

  it('does not declare sampling by default, so the server offers no sampling tool', () => {
    expect(registry().get('mcp__plain__trigger-sampling-request')).toBeUndefined()
    expect(registry().get('mcp__plain__get-roots-list')).toBeDefined()
  })

  it('refuses a sampling request from a server that is not allowed, with an error it can read', async () => {
    const calls = kernel.resolve(scriptedProviderRef).requests.length
    const text = textOf(await runTool(registry(), 'mcp__fault__sample-anyway', {}))
    expect(text).toMatch(/^sampling refused: -32601 /)
    expect(kernel.resolve(scriptedProviderRef).requests).toHaveLength(calls)
  })
})

describe('elicitation', () => {
  it('declines when the session has nobody to ask (headless)', async () => {
    const text = textOf(await runTool(registry(), 'mcp__everything__trigger-elicitation-request', {}))
    expect(text).toContain('User declined')
  })

  it("passes a form request to the frontend's elicit and its answer back", async () => {
    const ui = frontend({ elicit: async () => ({ action: 'accept', content: { name: 'Ada', check: true } }) })
    try {
      const text = textOf(await runTool(registry(), 'mcp__everything__trigger-elicitation-request', {}))
      expect(text).toContain('- Name: Ada')
      expect(text).toContain('- Agreed to terms: true')
      const [seen] = ui.asked.elicitation
      expect(seen).toMatchObject({ server: 'everything', mode: 'form' })
      expect(seen?.mode === 'form' && seen.requestedSchema).toMatchObject({ required: ['name'] })
    } finally {
      ui.detach()
    }
  })

  it('fills fields the user left out with the schema defaults', async () => {
    const ui = frontend({ elicit: async () => ({ action: 'accept', content: { name: 'Ada' } }) })
    try {
      const text = textOf(await runTool(registry(), 'mcp__everything__trigger-elicitation-request', {}))
      const [seen] = ui.asked.elicitation
      const properties = (seen?.mode === 'form' ? seen.requestedSchema.properties : {}) as Record<
        string,
        { default?: unknown }
      >
      const withDefault = Object.entries(properties).find(
        ([name, p]) => name !== 'name' && p.default !== undefined,
      )
      expect(withDefault).toBeDefined()
      expect(text).toContain(String(withDefault![1].default))
    } finally {
      ui.detach()
    }
  })

  it('rejects an accepted form whose content does not match the requested schema', async () => {
    const ui = frontend({ elicit: async () => ({ action: 'accept', content: { check: true } }) })
    try {
      const output = await runTool(registry(), 'mcp__everything__trigger-elicitation-request', {})
      expect(output.isError).toBe(true)
      expect(textOf(output)).toMatch(/name/)
    } finally {
      ui.detach()
    }
  })

  it('passes a URL-mode request with its url and elicitation id', async () => {
    const ui = frontend({ elicit: async () => ({ action: 'accept' }) })
    try {
      const text = textOf(
        await runTool(registry(), 'mcp__everything__trigger-url-elicitation', {
          url: 'https://example.com/consent',
          elicitationId: 'e-1',
        }),
      )
      expect(text).toContain('completed the URL elicitation')
      expect(ui.asked.elicitation[0]).toMatchObject({
        mode: 'url',
        url: 'https://example.com/consent',
        elicitationId: 'e-1',
      })
    } finally {
      ui.detach()
    }
  })

  it('a frontend that only confirms sampling leaves elicitation to the headless answer', async () => {
    const ui = frontend({ confirmSampling: async () => ({ action: 'deny' }) })
    try {
      const text = textOf(await runTool(registry(), 'mcp__everything__trigger-elicitation-request', {}))
      expect(text).toContain('User declined')
    } finally {
      ui.detach()
    }
  })
})

describe('routing to sessions', () => {
  const elicitation = 'mcp__everything__trigger-elicitation-request'
  const recorder = (name: string, asked: string[]): McpUserInteraction => ({
    elicit: async () => {
      asked.push(name)
      return { action: 'accept', content: { name, check: true } }
    },
  })

  it('asks the session whose call is in flight, never another one', async () => {
    const asked: string[] = []
    const a = recorder('Ada', asked)
    const b = recorder('Bob', asked)
    const fromA = textOf(await runTool(registry(), elicitation, {}, { sessionId: 'a', interaction: a }))
    const fromB = textOf(await runTool(registry(), elicitation, {}, { sessionId: 'b', interaction: b }))
    expect(asked).toEqual(['Ada', 'Bob'])
    expect(fromA).toContain('- Name: Ada')
    expect(fromB).toContain('- Name: Bob')
  })

  it('refuses, saying why, when calls of two sessions are in flight on the server', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let askedA = 0
    const a: McpUserInteraction = {
      elicit: async () => {
        askedA++
        await held
        return { action: 'accept', content: { name: 'Ada', check: true } }
      },
    }
    const askedB: string[] = []
    const callA = runTool(registry(), elicitation, {}, { sessionId: 'a', interaction: a })
    await until(() => askedA === 1, HANG_LIMIT_MS, "session a's question")
    // While a's call is in flight, b's server question cannot be told apart: declined.
    const fromB = textOf(
      await runTool(registry(), elicitation, {}, { sessionId: 'b', interaction: recorder('Bob', askedB) }),
    )
    release()
    expect(textOf(await callA)).toContain('- Name: Ada')
    expect(askedB).toEqual([])
    expect(fromB).toContain('User declined')
    expect(
      kernel.logs.some((r) =>
        r.message.includes('calls of several tau sessions are in flight on the MCP server'),
      ),
    ).toBe(true)
  })
})

describe('resources', () => {
  it('lists the resources and templates of every server, every page', async () => {
    const output = await runTool(registry(), 'ListMcpResourcesTool', {})
    const text = textOf(output)
    expect(text).toContain('- demo://resource/static/document/')
    expect(text).toContain('- template demo://resource/dynamic/text/{resourceId} "Dynamic Text Resource"')
    expect(text).toContain('server fault: 5 resources, 3 templates')
    const listing = output.structured as { resources: Array<{ server: string; uri: string }> }
    expect(listing.resources.filter((r) => r.server === 'fault').map((r) => r.uri)).toEqual([
      'fault://r/1',
      'fault://r/2',
      'fault://r/3',
      'fault://r/pixel.png',
      'fault://r/data.bin',
    ])
  })

  it('lists one server when asked, and fails on a server that does not exist', async () => {
    const text = textOf(await runTool(registry(), 'ListMcpResourcesTool', { server: 'fault' }))
    expect(text).not.toContain('demo://')
    await expect(runTool(registry(), 'ListMcpResourcesTool', { server: 'nope' })).rejects.toThrow(
      /no MCP server 'nope' \(servers: everything, trusted, plain, fault, fs\)/,
    )
  })

  it('reads text, binary and image contents', async () => {
    const read = (server: string, uri: string) => runTool(registry(), 'ReadMcpResourceTool', { server, uri })
    expect(textOf(await read('everything', 'demo://resource/dynamic/text/3'))).toMatch(
      /^\[resource demo:\/\/resource\/dynamic\/text\/3 \(text\/plain\)\]\nResource 3: This is a plaintext resource/,
    )
    expect(textOf(await read('fault', 'fault://r/data.bin'))).toBe(
      '[resource fault://r/data.bin (application/octet-stream), 5 bytes of binary data, not shown to the model]',
    )
    const image = await read('fault', 'fault://r/pixel.png')
    expect(image.content[0]).toMatchObject({ type: 'image', mediaType: 'image/png' })
  })

  it("passes a server's error for an unknown uri on to the caller", async () => {
    await expect(
      runTool(registry(), 'ReadMcpResourceTool', { server: 'fault', uri: 'fault://r/missing' }),
    ).rejects.toThrow(/no resource fault:\/\/r\/missing/)
  })
})

describe('prompts', () => {
  it('lists the prompts of every server, every page, with their slash command', async () => {
    const all = await servers().prompts()
    expect(all.filter((p) => p.server === 'fault').map((p) => p.name)).toEqual(['p1', 'p2', 'p3'])
    expect(all.find((p) => p.server === 'everything' && p.name === 'args-prompt')).toMatchObject({
      command: 'mcp__everything__args-prompt',
      arguments: [
        { name: 'city', required: true },
        { name: 'state', required: false },
      ],
    })
  })

  it('gets a prompt with arguments, embedded resources mapped', async () => {
    const prompt = await servers().getPrompt('everything', 'args-prompt', { city: 'Paris' })
    expect(prompt.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: "What's weather in Paris?" }] },
    ])
    const withResource = await servers().getPrompt('everything', 'resource-prompt', {
      resourceType: 'Text',
      resourceId: '2',
    })
    expect(withResource.messages[1]?.content[0]).toMatchObject({
      type: 'text',
      text: expect.stringMatching(
        /^\[resource demo:\/\/resource\/dynamic\/text\/2 \(text\/plain\)\]\nResource 2/,
      ),
    })
    await expect(servers().getPrompt('everything', 'no-such-prompt')).rejects.toThrow(/no-such-prompt/)
  })

  it('tau mcp prompts prints each prompt as its slash command', async () => {
    const command = kernel.resolve(cliCommandsRef).find((c) => c.name === 'mcp prompts')
    const stdout = new PassThrough()
    let out = ''
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const code = await command?.run({
      args: [],
      options: {},
      stdout,
      stderr: new PassThrough(),
      signal: new AbortController().signal,
    } as unknown as Parameters<NonNullable<typeof command>['run']>[0])
    expect(code).toBe(0)
    expect(out).toContain('/mcp__everything__args-prompt <city> [state]  A prompt with two arguments')
    expect(out).toContain('/mcp__fault__p2 <who>')
  })
})

describe('resource tools follow the servers', () => {
  it('are absent when no server offers resources, and come and go with the server that does', async () => {
    const other = await createTestKernel({
      plugins: [sandbox, tools, mcp],
      config: {
        mcpServers: {
          bare: { command: process.execPath, args: [FAULT_SERVER, '--no-resources'] },
          // A second of backoff: long enough that the poll below sees `res` down on a busy machine.
          res: { command: process.execPath, args: [FAULT_SERVER], retry: { baseDelayMs: 1_000 } },
        },
      },
    })
    try {
      const reg = other.resolve(toolRegistryRef)
      expect(reg.get('ListMcpResourcesTool')).toBeDefined()
      expect(reg.get('ReadMcpResourceTool')).toBeDefined()
      await runTool(reg, 'mcp__res__crash', {}).catch(() => undefined)
      // While `res` is down only `bare` is up, and it offers no resources.
      await until(
        () => other.resolve(mcpServersRef).get('res')?.status === 'failed',
        HANG_LIMIT_MS,
        'res down',
      )
      expect(reg.get('ListMcpResourcesTool')).toBeUndefined()
      await until(() => reg.get('ListMcpResourcesTool') !== undefined, HANG_LIMIT_MS, 'resource tools back')
    } finally {
      await other.stop()
    }
  })
})
