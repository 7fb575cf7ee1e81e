/**
 * The terminal's "first hour" items (issue 14), in process on streams that say they are a TTY
 * (raw keys, the live area), with a scripted stand-in session: Tab completion shows a command's
 * argument hint, the first Ctrl-C on an empty input only says to press it again (also right after
 * one that interrupted a run), and a tool's line times the tool, not the wait for the user.
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { AgentEvent, AgentRuntime, AgentSession } from '../../../plugins/agent/index.js'
import type { SlashCommand, SlashCommands } from '../../../plugins/slash-commands/index.js'
import { completeText, completions } from '../../../plugins/terminal/completion.js'
import { RunView } from '../../../plugins/terminal/run-view.js'
import type { Row } from '../../../plugins/terminal/text.js'
import { TerminalSession } from '../../../plugins/terminal/ui.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

// biome-ignore lint/suspicious/noControlCharactersInRegex: the screen's escape sequences
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g

function tty() {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined })
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 80, rows: 24 })
  let text = ''
  stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  return { stdin, stdout, screen: () => text.replace(ANSI, '') }
}

async function until(done: () => boolean, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A session whose run yields what `events` gives, and waits for `release` before its result. */
function fakeRuntime(run: (signal: AbortSignal | undefined) => AsyncIterable<AgentEvent>): AgentRuntime {
  const session = {
    id: 'session-1',
    cwd: '/tmp',
    model: 'scripted:test',
    conversation: [],
    running: false,
    todos: [],
    permissions: undefined,
    run: (_prompt: string, options?: { signal?: AbortSignal }) => run(options?.signal),
    close: async () => {},
  } as unknown as AgentSession
  return { createSession: () => session, sessions: () => [session] }
}

function start(runtime: AgentRuntime, slashCommands?: SlashCommands) {
  const io = tty()
  let exited: number | undefined
  const terminal = new TerminalSession(
    {
      runtime,
      projectDir: '/tmp',
      sessionOptions: {},
      env: { NO_COLOR: '1' },
      ...(slashCommands ? { slashCommands } : {}),
    },
    {
      argv: [],
      args: {} as never,
      signal: new AbortController().signal,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: new PassThrough(),
    },
  )
  void terminal.run().then((code) => {
    exited = code
  })
  return { ...io, exited: () => exited, keys: (s: string) => io.stdin.write(s) }
}

const review: SlashCommand = {
  name: 'review',
  description: 'Review a file',
  argumentHint: '[file] [focus]',
  source: 'project',
  expand: async (args) => `Review ${args}`,
}

describe('Tab completion', () => {
  it('lists the matching commands with their argument hints, and completes the one match', () => {
    const matches = completions([review], 're')
    expect(matches).toEqual([
      { name: '/review', label: '/review [file] [focus]', description: 'Review a file (project)' },
    ])
    expect(completeText(matches)).toBe('/review ')
  })

  it("shows the argument hint in the terminal's list under the input", async () => {
    const registry: SlashCommands = {
      list: async () => ({ commands: [review], problems: [] }),
      find: async () => undefined,
      expand: async () => undefined,
    }
    const t = start(
      fakeRuntime(async function* () {}),
      registry,
    )
    await until(() => t.screen().includes('Type a prompt'), 'the banner', t.screen)
    t.keys('/re')
    await until(() => t.screen().includes('/review [file] [focus]'), 'the hint', t.screen)
    // The built-in commands' hints too.
    t.keys('\u007f\u007fcom')
    await until(() => t.screen().includes('/compact [focus]'), "/compact's hint", t.screen)
    t.keys('\u0004')
  })
})

describe('Ctrl-C', () => {
  it('on an empty input, the first one says to press it again, even right after interrupting a run', async () => {
    let runs = 0
    const t = start(
      fakeRuntime(async function* (signal) {
        runs++
        // The run goes on until interrupted.
        await new Promise<void>((resolve) =>
          signal?.addEventListener('abort', () => resolve(), { once: true }),
        )
        yield {
          type: 'result',
          text: '',
          isError: true,
          stopReason: 'aborted',
          usage: { inputTokens: 0, outputTokens: 0 },
          turns: 1,
          durationMs: 5,
        } as unknown as AgentEvent
      }),
    )
    await until(() => t.screen().includes('Type a prompt'), 'the banner', t.screen)
    t.keys('work\r')
    await until(() => runs === 1 && t.screen().includes('esc to interrupt'), 'the run', t.screen)
    t.keys('\u0003')
    await until(() => t.screen().includes('interrupted · '), 'the end of the run', t.screen)
    // At once after the interrupt (within the double-press window): not an exit.
    t.keys('\u0003')
    await until(() => t.screen().includes('Press Ctrl-C again to exit'), 'the hint', t.screen)
    expect(t.exited()).toBeUndefined()
    t.keys('\u0003')
    await until(() => t.exited() !== undefined, 'the exit', t.screen)
    expect(t.exited()).toBe(0)
  })
})

describe('the tool line', () => {
  it('times the tool from the approval, not from its start (the wait for the user is not its time)', () => {
    const printed: Row[] = []
    const view = new RunView({
      columns: 80,
      color: false,
      print: (rows) => printed.push(...rows),
      gap: () => undefined,
      say: () => undefined,
      refresh: () => undefined,
    })
    const result = { type: 'tool-result' as const, toolCallId: 't1', toolName: 'Bash', content: [] }
    const text = () => printed.map((row) => row.map((s) => s.text).join('')).join('\n')
    view.render({
      type: 'tool-start',
      id: 't1',
      name: 'Bash',
      input: { command: 'ls' },
    } as unknown as AgentEvent)
    view.render({
      type: 'permission-request',
      id: 't1',
      name: 'Bash',
      input: {},
      reason: 'ask',
    } as unknown as AgentEvent)
    view.render({
      type: 'permission-decision',
      id: 't1',
      name: 'Bash',
      behavior: 'allow',
      reason: 'the user allowed it',
      source: 'user',
    } as unknown as AgentEvent)
    // The agent's duration counts from the call's start: 65 s of it was the user reading.
    view.render({
      type: 'tool-end',
      id: 't1',
      name: 'Bash',
      result,
      durationMs: 65_000,
    } as unknown as AgentEvent)
    expect(text()).not.toContain('1m5s')
    expect(text()).toMatch(/⎿ ✓ Bash \d+ms/)
    // A call nobody was asked about keeps the agent's figure.
    view.render({
      type: 'tool-start',
      id: 't2',
      name: 'Bash',
      input: { command: 'ls' },
    } as unknown as AgentEvent)
    view.render({
      type: 'tool-end',
      id: 't2',
      name: 'Bash',
      result,
      durationMs: 1500,
    } as unknown as AgentEvent)
    expect(text()).toContain('⎿ ✓ Bash 1.5s')
  })
})
