/** `/compact [focus]` and `# text` in the interactive terminal, in process (no tmux). */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../../plugins/agent/events.js'
import type { AgentRuntime, AgentSession } from '../../../plugins/agent/runtime.js'
import { addMemory, type MemoryService } from '../../../plugins/memory/index.js'
import type { CompactionResult, SessionService } from '../../../plugins/session/service.js'
import { type TerminalOptions, TerminalSession } from '../../../plugins/terminal/ui.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

interface Harness {
  readonly prompts: string[]
  send(line: string): void
  waitFor(pattern: RegExp): Promise<string>
  until(done: () => boolean): Promise<void>
  output(): string
  exit(): Promise<number>
}

function start(dir: string, extra: Partial<TerminalOptions>): Harness {
  const prompts: string[] = []
  const session = {
    id: 'session-1',
    cwd: dir,
    model: 'scripted:test',
    conversation: [],
    running: false,
    todos: [],
    run(prompt: string): AsyncIterable<AgentEvent> {
      prompts.push(prompt)
      return (async function* () {})()
    },
    close: async () => {},
  } as unknown as AgentSession
  const runtime: AgentRuntime = { createSession: () => session, sessions: () => [session] }
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let text = ''
  stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  const terminal = new TerminalSession(
    { runtime, projectDir: dir, sessionOptions: { cwd: dir }, env: { NO_COLOR: '1' }, ...extra },
    { argv: [], args: {} as never, signal: new AbortController().signal, stdin, stdout, stderr },
  )
  const code = terminal.run()
  return {
    prompts,
    send: (line) => stdin.write(`${line}\n`),
    output: () => text,
    async waitFor(pattern) {
      const deadline = Date.now() + HANG_LIMIT_MS
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${text}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      return text
    },
    async until(done) {
      const deadline = Date.now() + HANG_LIMIT_MS
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out; output:\n${text}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async exit() {
      stdin.end()
      return code
    },
  }
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-terminal-cmds-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('terminal /compact', () => {
  it('compacts the open session with the focus and prints what was compacted', async () => {
    const calls: Array<[string, string | undefined]> = []
    const sessions = {
      compact: async (id: string, focus?: string): Promise<CompactionResult> => {
        calls.push([id, focus])
        return { clearedResults: 3, summarizedMessages: 8, tokensBefore: 12000, tokensAfter: 2500 }
      },
    } as unknown as SessionService
    const t = start(dir, { sessions })
    t.send('/compact keep the API decisions')
    await t.waitFor(/compacted: /)
    t.send('/compact')
    await t.waitFor(/compacted: [\s\S]*compacted: /)
    expect(await t.exit()).toBe(0)
    expect(calls).toEqual([
      ['session-1', 'keep the API decisions'],
      ['session-1', undefined],
    ])
    expect(t.output()).toContain(
      'compacted: 12000 → 2500 tokens, 3 tool results cleared, 8 messages summarised',
    )
    expect(t.prompts).toEqual([])
  })

  it('shows the service error and stays usable', async () => {
    const sessions = {
      compact: async (): Promise<CompactionResult> => {
        throw new Error('session session-1 is running; compact between runs')
      },
    } as unknown as SessionService
    const t = start(dir, { sessions })
    t.send('/compact')
    await t.waitFor(/error: session session-1 is running/)
    t.send('/help')
    await t.waitFor(/\/compact \[focus\]/)
    expect(await t.exit()).toBe(0)
    expect(t.output()).not.toMatch(/compacted: /)
  })

  it('says so when the session plugin is not loaded', async () => {
    const t = start(dir, {})
    t.send('/compact')
    await t.waitFor(/\/compact needs the session plugin, which is not loaded/)
    expect(await t.exit()).toBe(0)
    expect(t.prompts).toEqual([])
  })
})

describe('terminal # memory', () => {
  it('adds "# text" to the project TAU.md and does not send it to the model', async () => {
    const scopes: string[] = []
    const memory = {
      addMemory: (text: string, scope: 'project' | 'user') => {
        scopes.push(scope)
        return addMemory(text, scope, { projectDir: dir, tauHome: join(dir, 'home') })
      },
    } as unknown as MemoryService
    const t = start(dir, { memory })
    t.send('# always run npm test before committing')
    await t.waitFor(/remembered in .*TAU\.md/)
    t.send('#')
    await t.waitFor(/usage: # text/)
    t.send('hello')
    await t.until(() => t.prompts.length > 0)
    expect(await t.exit()).toBe(0)
    expect(scopes).toEqual(['project'])
    expect(await readFile(join(dir, 'TAU.md'), 'utf8')).toBe('- always run npm test before committing\n')
    expect(t.output()).toContain(`remembered in ${join(dir, 'TAU.md')}`)
    expect(t.prompts).toEqual(['hello'])
  })

  it('says so when the memory plugin is not loaded, and sends nothing to the model', async () => {
    const t = start(dir, {})
    t.send('# remember this')
    await t.waitFor(/memory plugin, which is not loaded/)
    expect(await t.exit()).toBe(0)
    expect(t.prompts).toEqual([])
  })
})
