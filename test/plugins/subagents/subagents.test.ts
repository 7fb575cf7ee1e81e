/**
 * The subagents plugin through the real agent loop: the Task tool runs a child session served by
 * the same scripted model (its turns answer the parent's and the children's calls in order), with
 * the real permissions plugin deciding both.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { TauConfig, TauPlugin } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, {
  type AgentEvent,
  type AgentSessionOptions,
  agentRuntimeRef,
  type PermissionRequest,
} from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import providerScripted, {
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sessionPlugin, { sessionServiceRef } from '../../../plugins/session/index.js'
import subagents, {
  type AgentDefinition,
  childModel,
  type SubagentStart,
  type SubagentStop,
  subagentCatalogRef,
  subagentHooksRef,
} from '../../../plugins/subagents/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { collect, ofType, resultOf, tempDir, toolsPlugin, toolText } from '../agent/helpers.js'

const executed: string[] = []
const echo = defineTool({
  name: 'Echo',
  description: 'Echoes text',
  input: z.object({ text: z.string() }),
  annotations: { readOnly: true },
  permissionTarget: ({ text }) => text,
  execute: async ({ text }) => {
    executed.push(`Echo:${text}`)
    return `echo ${text}`
  },
})
const secret = defineTool({
  name: 'Secret',
  description: 'Reads a secret',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: async () => {
    executed.push('Secret')
    return 'the secret'
  },
})
const write = defineTool({
  name: 'Write',
  description: 'Writes',
  input: z.object({ text: z.string() }),
  annotations: { readOnly: false },
  execute: async ({ text }) => {
    executed.push(`Write:${text}`)
    return 'written'
  },
})

const kernels: TestKernel[] = []
const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  executed.length = 0
  await Promise.all(kernels.splice(0).map((kernel) => kernel.stop()))
  await Promise.all(dirs.splice(0).map((dir) => dir.remove()))
})

async function setup(options: {
  turns: ScriptTurn[]
  config?: TauConfig
  files?: Record<string, string>
  extraPlugins?: readonly TauPlugin[]
}) {
  const cwd = await tempDir('tau-subagents-cwd-')
  const home = await tempDir('tau-subagents-home-')
  dirs.push(cwd, home)
  for (const [path, text] of Object.entries(options.files ?? {})) {
    const file = path.startsWith('~/') ? join(home.dir, path.slice(2)) : join(cwd.dir, path)
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(file, text)
  }
  const kernel = await createTestKernel({
    plugins: [
      providers,
      providerScripted,
      toolsPlugin([echo, secret, write]),
      agent,
      permissions,
      subagents,
      ...(options.extraPlugins ?? []),
    ],
    config: {
      model: 'scripted:test',
      providers: { scripted: { turns: options.turns } },
      subagents: {
        agents: {
          reader: { description: 'Reads with Echo only', tools: ['Echo'], prompt: 'READER PROMPT' },
          other: {
            description: 'Runs on another model',
            tools: ['Echo'],
            model: 'scripted:other',
            prompt: '',
          },
        },
      },
      ...options.config,
    },
    cwd: cwd.dir,
    tauHome: home.dir,
  })
  kernels.push(kernel)
  const runtime = kernel.resolve(agentRuntimeRef)
  const session = (o: AgentSessionOptions = {}) =>
    runtime.createSession({ scope: kernel.createSession({ cwd: cwd.dir }), ...o })
  return { kernel, runtime, session, scripted: kernel.resolve(scriptedProviderRef), cwd: cwd.dir }
}

const task = (id: string, subagent_type: string, prompt = 'do it'): ScriptTurn => ({
  toolCalls: [{ id, name: 'Task', input: { description: 'a task', prompt, subagent_type } }],
})

/** A Task call 't' (general-purpose) whose child makes one call, then reports; then the parent ends. */
const childCalls = (name: string, input: Record<string, unknown>, id = 'w'): ScriptTurn[] => [
  task('t', 'general-purpose'),
  { toolCalls: [{ id, name, input }] },
  { text: 'the child is done' },
  { text: 'ok' },
]

/** The child events of the Task call `id`: first-class events of the parent's stream, tagged with the call. */
function childEvents(events: readonly AgentEvent[], id: string): AgentEvent[] {
  return events.filter((event) => event.parentToolCallId === id)
}

const toolNames = (request: { tools?: readonly { name: string }[] }) =>
  (request.tools ?? []).map((t) => t.name)

describe('Task tool', () => {
  it("records the child's session linked to the parent session and Task call (with the session plugin)", async () => {
    const h = await setup({
      turns: [task('task_link', 'reader', 'look'), { text: 'child report' }, { text: 'parent done' }],
      extraPlugins: [sessionPlugin],
    })
    const parent = h.session()
    await collect(parent.run('go'))
    const sessions = await h.kernel.resolve(sessionServiceRef).list()
    const child = sessions.find((s) => s.id !== parent.id)
    expect(child?.subagentOf).toEqual({ id: parent.id, toolCallId: 'task_link' })
    expect(sessions.find((s) => s.id === parent.id)?.subagentOf).toBeUndefined()
  })

  it('runs a child with its restricted tool set and returns its report, child events tagged with the call id', async () => {
    const h = await setup({
      turns: [
        task('task_1', 'reader', 'find the answer'),
        { toolCalls: [{ id: 'c_secret', name: 'Secret', input: {} }] },
        { toolCalls: [{ id: 'c_echo', name: 'Echo', input: { text: 'hi' } }] },
        { text: 'REPORT: the answer is 42' },
        { text: 'parent done' },
      ],
    })
    const events = await collect(h.session().run('go'))
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', isError: false, text: 'parent done' })
    // The parent got the child's final report as the Task result.
    const end = ofType(events, 'tool-end').find((e) => e.id === 'task_1')!
    expect(end.result.isError ?? false).toBe(false)
    expect(toolText(events, 'task_1')).toBe('REPORT: the answer is 42')

    // The child saw only Echo; Secret (registered, outside its list) was refused and never ran.
    const [parentCall, childCall] = h.scripted.requests
    expect(toolNames(parentCall!)).toContain('Task')
    expect(toolNames(childCall!)).toEqual(['Echo'])
    expect(JSON.stringify(childCall!.messages)).toContain('READER PROMPT')
    expect(JSON.stringify(childCall!.messages)).toContain('find the answer')
    expect(JSON.stringify(parentCall!.messages)).not.toContain('READER PROMPT')
    expect(executed).toEqual(['Echo:hi'])

    const child = childEvents(events, 'task_1')
    expect(child.length).toBeGreaterThan(0)
    expect(child.every((e) => e.parentToolCallId === 'task_1')).toBe(true)
    expect(child.every((e) => e.sessionId !== events[0]!.sessionId)).toBe(true)
    const secretEnd = ofType(child, 'tool-end').find((e) => e.id === 'c_secret')!
    expect(secretEnd.result.isError).toBe(true)
    const secretText = secretEnd.result.content.map((p) => (p.type === 'text' ? p.text : '')).join('')
    expect(secretText).toContain("no tool named 'Secret'")
    expect(secretText).toContain('The tools you can call are: Echo.')
    expect(ofType(child, 'result')[0]).toMatchObject({ text: 'REPORT: the answer is 42', isError: false })
    // The child session is closed after the call.
    expect(h.runtime.sessions()).toHaveLength(1)
  })

  it('fires subagentStart and subagentStop, and runs the child on the definition model', async () => {
    const h = await setup({ turns: [task('t', 'other'), { text: 'child report' }, { text: 'ok' }] })
    const seen: Array<SubagentStart | SubagentStop> = []
    const view = h.kernel.hooksOf(subagentHooksRef)
    view.subagentStart.tapPromise(async (c) => void seen.push(c))
    view.subagentStop.tapPromise(async (c) => void seen.push(c))
    await collect(h.session().run('go'))
    expect(h.scripted.requests[1]!.model).toEqual({ provider: 'scripted', model: 'other' })
    expect(h.scripted.requests[0]!.model).toEqual({ provider: 'scripted', model: 'test' })
    expect(seen).toHaveLength(2)
    expect(seen[0]).toMatchObject({
      toolCallId: 't',
      agentType: 'other',
      model: 'scripted:other',
      tools: ['Echo'],
    })
    expect(seen[1]).toMatchObject({
      toolCallId: 't',
      stopReason: 'end-turn',
      isError: false,
      text: 'child report',
    })
  })

  it('answers an unknown subagent_type with an error naming the agent types', async () => {
    const h = await setup({ turns: [task('t', 'nope'), { text: 'ok' }] })
    const events = await collect(h.session().run('go'))
    const end = ofType(events, 'tool-end').find((e) => e.id === 't')!
    expect(end.result.isError).toBe(true)
    expect(toolText(events, 't')).toContain("no agent type 'nope'")
    expect(toolText(events, 't')).toContain('general-purpose')
    expect(h.scripted.requests).toHaveLength(2)
  })

  it("without subagent_type the general-purpose agent runs; Claude Code's model parameter is accepted", async () => {
    const h = await setup({
      turns: [
        {
          toolCalls: [
            { id: 't', name: 'Task', input: { description: 'look', prompt: 'look around', model: 'haiku' } },
          ],
        },
        { text: 'general report' },
        { text: 'ok' },
      ],
    })
    const events = await collect(h.session().run('go'))
    expect(toolText(events, 't')).toBe('general report')
    const end = ofType(events, 'tool-end').find((e) => e.id === 't')!
    expect(end.display).toMatchObject({ agentType: 'general-purpose' })
  })

  it('reports a failed child as an error result', async () => {
    const h = await setup({
      turns: [task('t', 'reader'), { status: 500, errorMessage: 'model down' }, { text: 'ok' }],
    })
    const events = await collect(h.session().run('go'))
    const end = ofType(events, 'tool-end').find((e) => e.id === 't')!
    expect(end.result.isError).toBe(true)
    expect(toolText(events, 't')).toContain("The subagent 'reader' failed")
  })
})

describe("the child's events in the parent's stream", () => {
  it("arrive as first-class events between the Task call's tool-start and tool-end, tagged and with the child's session id", async () => {
    const h = await setup({
      turns: [
        task('task_1', 'reader', 'look around'),
        { toolCalls: [{ id: 'c_echo', name: 'Echo', input: { text: 'hi' } }] },
        { text: 'child report' },
        { text: 'parent done' },
      ],
    })
    const events = await collect(h.session().run('go'))
    const parentId = events[0]!.sessionId
    const start = events.findIndex((e) => e.type === 'tool-start' && e.id === 'task_1')
    const end = events.findIndex((e) => e.type === 'tool-end' && e.id === 'task_1')
    const tagged = events.flatMap((e, i) => (e.parentToolCallId === 'task_1' ? [i] : []))
    expect(tagged.length).toBeGreaterThan(0)
    expect(tagged.every((i) => i > start && i < end)).toBe(true)
    const child = childEvents(events, 'task_1')
    const childId = child[0]!.sessionId
    expect(childId).not.toBe(parentId)
    expect(child.every((e) => e.sessionId === childId)).toBe(true)
    expect(child.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'session-start',
        'user-prompt',
        'text-delta',
        'assistant-message',
        'tool-start',
        'permission-decision',
        'tool-end',
        'usage',
        'result',
      ]),
    )
    expect(ofType(child, 'user-prompt')[0]!.prompt).toBe('look around')
    expect(ofType(child, 'tool-end')[0]).toMatchObject({ id: 'c_echo', name: 'Echo' })
    // No more nesting in tool-progress; everything else is the parent's own.
    expect(ofType(events, 'tool-progress')).toEqual([])
    expect(
      events.filter((e) => e.parentToolCallId === undefined).every((e) => e.sessionId === parentId),
    ).toBe(true)
    expect(events.at(-1)).toMatchObject({ type: 'result', sessionId: parentId, text: 'parent done' })
    expect(events.at(-1)!.parentToolCallId).toBeUndefined()
  })

  it("count the child's model calls in the parent's usage and cost (as Claude Code's totals do)", async () => {
    const usage = { inputTokens: 100, outputTokens: 50 }
    const h = await setup({
      config: {
        // $10 / $20 per million tokens: 100 in + 50 out = $0.002 a call.
        providers: {
          scripted: {
            capabilities: { pricing: { input: 10, output: 20 } },
            turns: [
              { ...task('t', 'reader'), usage },
              { toolCalls: [{ id: 'e', name: 'Echo', input: { text: 'x' } }], usage },
              { text: 'child report', usage },
              { text: 'parent done', usage },
            ],
          },
        },
      },
      turns: [],
    })
    const events = await collect(h.session().run('go'))
    const child = ofType(childEvents(events, 't'), 'result')[0]!
    expect(child.usage).toEqual({ inputTokens: 200, outputTokens: 100 })
    expect(child.costUsd).toBeCloseTo(0.004, 10)
    const result = resultOf(events)
    expect(result.turns).toBe(2)
    expect(result.usage).toEqual({ inputTokens: 400, outputTokens: 200 })
    expect(result.costUsd).toBeCloseTo(0.008, 10)
    // The parent's last usage event's total includes the child's calls too.
    const own = ofType(events, 'usage').filter((e) => e.parentToolCallId === undefined)
    expect(own.at(-1)!.total).toEqual({ inputTokens: 400, outputTokens: 200 })
  })

  it('of parallel Task calls each carry their own call id and stay within their call', async () => {
    const child: ScriptTurn = { text: 'report' }
    const h = await setup({
      turns: [
        {
          toolCalls: ['p1', 'p2'].map((id) => ({
            id,
            name: 'Task',
            input: { description: 'x', prompt: `task ${id}`, subagent_type: 'reader' },
          })),
        },
        child,
        child,
        { text: 'ok' },
      ],
    })
    const events = await collect(h.session().run('go'))
    const sessions = new Set<string>()
    for (const id of ['p1', 'p2']) {
      const start = events.findIndex((e) => e.type === 'tool-start' && e.id === id)
      const end = events.findIndex((e) => e.type === 'tool-end' && e.id === id)
      const mine = events.flatMap((e, i) => (e.parentToolCallId === id ? [i] : []))
      expect(mine.length).toBeGreaterThan(0)
      expect(mine.every((i) => i > start && i < end)).toBe(true)
      const ids = new Set(childEvents(events, id).map((e) => e.sessionId))
      expect(ids.size).toBe(1)
      sessions.add([...ids][0]!)
      expect(ofType(childEvents(events, id), 'user-prompt')[0]!.prompt).toBe(`task ${id}`)
    }
    expect(sessions.size).toBe(2)
  })
})

describe('permissions of the child', () => {
  it("asks the parent's frontend, and the request says which subagent asks", async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const asked: PermissionRequest[] = []
    const events = await collect(
      h
        .session({
          askPermission: async (request) => {
            asked.push(request)
            return 'allow'
          },
        })
        .run('go'),
    )
    expect(executed).toEqual(['Write:x'])
    const child = childEvents(events, 't')
    const childId = child[0]!.sessionId
    expect(asked).toHaveLength(1)
    expect(asked[0]).toMatchObject({
      sessionId: childId,
      toolCallId: 'w',
      toolName: 'Write',
      input: { text: 'x' },
      suggestedRule: 'Write',
      parentToolCallId: 't',
      agentType: 'general-purpose',
    })
    expect(ofType(child, 'permission-request')[0]).toMatchObject({ id: 'w', name: 'Write' })
    expect(ofType(child, 'permission-decision')[0]).toMatchObject({
      name: 'Write',
      behavior: 'allow',
      source: 'user',
    })
    // general-purpose gets every tool but Task.
    expect(toolNames(h.scripted.requests[1]!)).toEqual(['Echo', 'Secret', 'Write'])
  })

  it('a headless parent (no askPermission): what needs asking is denied in the child', async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const events = await collect(h.session().run('go'))
    expect(executed).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      name: 'Write',
      behavior: 'deny',
      source: 'headless',
    })
  })

  it("a denial from the parent's frontend denies the child's call, with the user's reason", async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const events = await collect(
      h.session({ askPermission: async () => ({ behavior: 'deny', reason: 'not now' }) }).run('go'),
    )
    expect(executed).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      behavior: 'deny',
      source: 'user',
      reason: 'not now',
    })
  })

  it('"allow always" in a subagent is kept for the parent session too (and in settings.local.json)', async () => {
    const h = await setup({
      turns: [
        task('t', 'general-purpose'),
        { toolCalls: [{ id: 'w1', name: 'Write', input: { text: 'x' } }] },
        { text: 'wrote it' },
        { toolCalls: [{ id: 'w2', name: 'Write', input: { text: 'y' } }] },
        { text: 'ok' },
      ],
    })
    const asked: string[] = []
    const parent = h.session({
      askPermission: async (request) => {
        asked.push(request.toolCallId)
        return 'allow-always'
      },
    })
    const events = await collect(parent.run('go'))
    expect(executed).toEqual(['Write:x', 'Write:y'])
    expect(asked).toEqual(['w1'])
    const own = ofType(events, 'permission-decision').find((e) => e.id === 'w2')!
    expect(own).toMatchObject({ behavior: 'allow', source: 'rule' })
    expect(parent.permissions?.rules().some((r) => r.text === 'Write' && r.source.scope === 'session')).toBe(
      true,
    )
    const local = JSON.parse(await readFile(join(h.cwd, '.tau', 'settings.local.json'), 'utf8'))
    expect(local.permissions.allow).toContain('Write')
  })

  it('parallel subagents ask one question at a time', async () => {
    const write = (id: string): ScriptTurn => ({ toolCalls: [{ id, name: 'Write', input: { text: id } }] })
    const h = await setup({
      turns: [
        {
          toolCalls: ['p1', 'p2'].map((id) => ({
            id,
            name: 'Task',
            input: { description: 'x', prompt: 'p', subagent_type: 'general-purpose' },
          })),
        },
        write('w1'),
        write('w2'),
        { text: 'done' },
        { text: 'done' },
        { text: 'ok' },
      ],
    })
    let open = 0
    let most = 0
    const asked: string[] = []
    const events: AgentEvent[] = []
    const otherAsks = (id: string | undefined) =>
      events.some((e) => e.type === 'permission-request' && e.parentToolCallId !== id)
    const session = h.session({
      askPermission: async (request) => {
        open++
        most = Math.max(most, open)
        asked.push(request.parentToolCallId ?? '')
        // Hold the first question open until the other child asks too (bounded, no timers).
        for (let i = 0; i < 10_000 && !otherAsks(request.parentToolCallId); i++)
          await new Promise((resolve) => setImmediate(resolve))
        open--
        return 'allow'
      },
    })
    for await (const event of session.run('go')) events.push(event)
    expect(asked.sort()).toEqual(['p1', 'p2'])
    // Both children were waiting for an answer at once, and were asked one after the other.
    const requests = ofType(events, 'permission-request').map((e) => events.indexOf(e))
    const decisions = ofType(events, 'permission-decision')
      .filter((e) => e.name === 'Write')
      .map((e) => events.indexOf(e))
    expect(Math.max(...requests)).toBeLessThan(Math.min(...decisions))
    expect(most).toBe(1)
    expect(executed.sort()).toEqual(['Write:w1', 'Write:w2'])
  })

  it("passes on the parent's mode: in plan mode the child cannot write", async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const asked: string[] = []
    const ask = async (request: PermissionRequest) => {
      asked.push(request.toolName)
      return 'allow' as const
    }
    const events = await collect(h.session({ permissionMode: 'plan', askPermission: ask }).run('go'))
    expect(executed).toEqual([])
    expect(asked).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      behavior: 'deny',
      source: 'mode',
    })
  })

  it("passes on the parent's command-line rules: a tool the parent may not use stays denied", async () => {
    const h = await setup({
      turns: childCalls('Echo', { text: 'no' }, 'e'),
    })
    const asked: string[] = []
    const ask = async (request: PermissionRequest) => {
      asked.push(request.toolName)
      return 'allow' as const
    }
    const events = await collect(h.session({ disallowedTools: ['Echo(no)'], askPermission: ask }).run('go'))
    expect(executed).toEqual([])
    expect(asked).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      behavior: 'deny',
      source: 'rule',
    })
  })

  it("hides from the child the tools the parent's bare deny rules take away", async () => {
    const h = await setup({
      turns: childCalls('Secret', {}, 's'),
    })
    const events = await collect(h.session({ disallowedTools: ['Secret'] }).run('go'))
    expect(executed).toEqual([])
    expect(toolNames(h.scripted.requests[1]!)).toEqual(['Echo', 'Write'])
    const end = ofType(childEvents(events, 't'), 'tool-end').find((e) => e.id === 's')!
    expect(end.result.isError).toBe(true)
  })
})

describe('agent files', () => {
  it('discovers .tau/agents and <tauHome>/agents, and refuses ---js front matter without running it', async () => {
    const h = await setup({
      files: {
        '.tau/agents/finder.md':
          '---\nname: finder\ndescription: Finds things\ntools: Echo, Secret\nmodel: inherit\n---\nFINDER BODY\n',
        '~/agents/helper.md': '---\nname: helper\ndescription: Helps\n---\nHELPER BODY\n',
        '.tau/agents/evil.md':
          "---js\n{ name: (globalThis.__tauSubagentPwned = true, 'evil'), description: 'x' }\n---\nEVIL\n",
        '.tau/agents/broken.md': 'no frontmatter here\n',
      },
      turns: [task('t', 'finder'), { text: 'found it' }, { text: 'ok' }],
    })
    const catalog = h.kernel.resolve(subagentCatalogRef)
    const names = catalog.list().map((a) => a.name)
    expect(names).toEqual(['reader', 'other', 'finder', 'helper', 'general-purpose'])
    expect((globalThis as { __tauSubagentPwned?: boolean }).__tauSubagentPwned).toBeUndefined()
    const problems = catalog.problems()
    expect(problems.map((p) => p.file.split('/').at(-1))).toEqual(['broken.md', 'evil.md'])
    expect(problems[1]!.message).toContain("'js' is refused")

    const events = await collect(h.session().run('go'))
    expect(toolText(events, 't')).toBe('found it')
    const task0 = h.scripted.requests[0]!.tools!.find((t) => t.name === 'Task')!
    expect(task0.description).toContain('finder: Finds things')
    expect(task0.description).not.toContain('evil')
    expect(toolNames(h.scripted.requests[1]!)).toEqual(['Echo', 'Secret'])
    expect(JSON.stringify(h.scripted.requests[1]!.messages)).toContain('FINDER BODY')
  })
})

describe("the user's Claude Code directory", () => {
  it("reads agents from the kernel's claudeHome (the test kit's temp one), never from $HOME or $CLAUDE_CONFIG_DIR", async () => {
    // Agent files where the real home would be read from: $HOME/.claude and $CLAUDE_CONFIG_DIR.
    const decoyHome = await tempDir('tau-subagents-decoy-home-')
    const decoyConfig = await tempDir('tau-subagents-decoy-config-')
    dirs.push(decoyHome, decoyConfig)
    const decoy = (name: string) => `---\nname: ${name}\ndescription: must not be read\n---\nDECOY\n`
    await mkdir(join(decoyHome.dir, '.claude', 'agents'), { recursive: true })
    await writeFile(join(decoyHome.dir, '.claude', 'agents', 'home-decoy.md'), decoy('home-decoy'))
    await mkdir(join(decoyConfig.dir, 'agents'), { recursive: true })
    await writeFile(join(decoyConfig.dir, 'agents', 'config-decoy.md'), decoy('config-decoy'))
    const saved = { HOME: process.env.HOME, CLAUDE_CONFIG_DIR: process.env.CLAUDE_CONFIG_DIR }
    process.env.HOME = decoyHome.dir
    process.env.CLAUDE_CONFIG_DIR = decoyConfig.dir
    try {
      const h = await setup({
        files: {
          '~/claude-home/agents/claude-user.md':
            '---\nname: claude-user\ndescription: From ~/.claude\n---\nX\n',
        },
        turns: [{ text: 'ok' }],
      })
      expect(h.kernel.paths.claudeHome).toBe(join(h.kernel.paths.tauHome, 'claude-home'))
      const names = h.kernel
        .resolve(subagentCatalogRef)
        .list()
        .map((a) => a.name)
      expect(names).toContain('claude-user')
      expect(names).not.toContain('home-decoy')
      expect(names).not.toContain('config-decoy')
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
    }
  })
})

describe('abort and parallel Task calls', () => {
  it("aborting the parent's run aborts the child at once", async () => {
    const h = await setup({ turns: [task('t', 'reader'), { text: 'never', firstByteDelayMs: 120_000 }] })
    const stops: SubagentStop[] = []
    h.kernel.hooksOf(subagentHooksRef).subagentStop.tapPromise(async (c) => void stops.push(c))
    const controller = new AbortController()
    const events: AgentEvent[] = []
    // The child's model answers after two minutes, past the test's limit: the run ends only by the abort.
    for await (const event of h.session().run('go', { signal: controller.signal })) {
      events.push(event)
      if (event.type === 'user-prompt' && event.parentToolCallId === 't') controller.abort()
    }
    expect(resultOf(events).stopReason).toBe('aborted')
    // The aborted child's last events (its result) stay out of the parent's stream after the call ended.
    const end = events.findIndex((e) => e.type === 'tool-end' && e.id === 't')
    expect(end).toBeGreaterThan(0)
    expect(events.slice(end + 1).filter((e) => e.parentToolCallId !== undefined)).toEqual([])
    // The child ends too (the loop does not wait for aborted tools): its run stops as aborted.
    await expect.poll(() => stops.length, { timeout: HANG_LIMIT_MS }).toBe(1)
    expect(stops[0]).toMatchObject({ stopReason: 'aborted', isError: true })
    await expect.poll(() => h.runtime.sessions().length, { timeout: HANG_LIMIT_MS }).toBe(1)
  })

  for (const maxParallel of [1, 2]) {
    it(`runs Task calls of one turn in parallel, at most subagents.maxParallel (${maxParallel}) at once`, async () => {
      const child: ScriptTurn = { text: 'report', firstByteDelayMs: 150 }
      const h = await setup({
        config: { subagents: { maxParallel, agents: {} } },
        turns: [
          {
            toolCalls: [1, 2, 3].map((i) => ({
              id: `t${i}`,
              name: 'Task',
              input: { description: 'x', prompt: 'p', subagent_type: 'general-purpose' },
            })),
          },
          child,
          child,
          child,
          { text: 'ok' },
        ],
      })
      let running = 0
      let most = 0
      const view = h.kernel.hooksOf(subagentHooksRef)
      view.subagentStart.tapPromise(async () => {
        running++
        most = Math.max(most, running)
      })
      view.subagentStop.tapPromise(async () => void running--)
      const events = await collect(h.session().run('go'))
      expect(resultOf(events).isError).toBe(false)
      for (const id of ['t1', 't2', 't3']) expect(toolText(events, id)).toBe('report')
      expect(most).toBe(maxParallel)
    })
  }
})

describe('childModel: the Task call, the definition, the parent', () => {
  const def = (model?: string): AgentDefinition => ({
    name: 'a',
    description: 'd',
    prompt: '',
    source: 'config',
    ...(model ? { model } : {}),
  })
  const providers = {
    has: (name: string) => name === 'anthropic' || name === 'scripted',
    isConfigured: (name: string) => name === 'scripted',
    list: () => [{ name: 'anthropic' }, { name: 'scripted' }],
  }
  const options = { aliases: { fast: 'scripted:fast' }, env: {}, providers }

  it('takes the Task call over the definition, the definition over the parent; inherit is the parent', () => {
    expect(childModel(def('scripted:def'), 'scripted:parent', 'scripted:call', options)).toEqual({
      ok: true,
      model: 'scripted:call',
    })
    expect(childModel(def('scripted:def'), 'scripted:parent', undefined, options)).toEqual({
      ok: true,
      model: 'scripted:def',
    })
    expect(childModel(def(), 'scripted:parent', 'inherit', options)).toEqual({
      ok: true,
      model: 'scripted:parent',
    })
    expect(childModel(def('Inherit'), 'scripted:parent', undefined, options)).toEqual({
      ok: true,
      model: 'scripted:parent',
    })
  })

  it('maps aliases: configured first; a built-in one whose provider is not set up means the parent, with a note', () => {
    expect(childModel(def(), 'scripted:parent', 'fast', options)).toEqual({
      ok: true,
      model: 'scripted:fast',
    })
    const haiku = childModel(def(), 'scripted:parent', 'HAIKU', options)
    expect(haiku).toMatchObject({ ok: true, model: 'scripted:parent' })
    expect(haiku.ok && haiku.note).toContain('anthropic:claude-haiku-4-5')
    const fromEnv = childModel(def(), 'scripted:parent', 'sonnet', {
      ...options,
      env: { ANTHROPIC_DEFAULT_SONNET_MODEL: 'scripted:chosen' },
    })
    expect(fromEnv).toEqual({ ok: true, model: 'scripted:chosen' })
  })

  it('refuses a name that is no model and a provider that is not loaded, saying which', () => {
    // Object.prototype's names are not aliases.
    const proto = childModel(def(), 'scripted:parent', 'constructor', options)
    expect(proto.ok).toBe(false)
    expect(!proto.ok && proto.error).toContain("the Task call's model 'constructor' is not a model")
    const missing = childModel(def('ollama:qwen'), 'scripted:parent', undefined, options)
    expect(!missing.ok && missing.error).toContain(
      "the model 'ollama:qwen' of agent 'a' names provider 'ollama', which is not loaded (providers: anthropic, scripted)",
    )
  })
})
