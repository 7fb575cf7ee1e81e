/**
 * The SessionController as a frontend without a person in the process drives it (an HTTP
 * server, an editor adapter): questions pending by id and answered by id, plan approval through
 * the same board, prompts queued while busy and taken back on abort, the built-in commands in the
 * slash-commands registry (listed first, never shadowed by a file).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, { agentRuntimeRef } from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import plan from '../../../plugins/plan/index.js'
import providerScripted, { type ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import sessionController, {
  type ControllerEvent,
  type PendingQuestion,
  SessionController,
  sessionControllersRef,
} from '../../../plugins/session-controller/index.js'
import slashCommands, { slashCommandsRef } from '../../../plugins/slash-commands/index.js'
import tools from '../../../plugins/tools/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((fn) => fn()))
})

async function setup(turns: ScriptTurn[]) {
  const dir = await mkdtemp(join(tmpdir(), 'tau-controller-'))
  cleanup.push(() => rm(dir, { recursive: true, force: true }))
  const kernel: TestKernel = await createTestKernel({
    cwd: dir,
    tauHome: join(dir, 'home'),
    plugins: [
      providers,
      providerScripted,
      sandbox,
      tools,
      permissions,
      agent,
      plan,
      slashCommands,
      sessionController,
    ],
    config: { model: 'scripted:test', providers: { scripted: { turns } } },
  })
  cleanup.push(() => kernel.stop())
  const controller = kernel.resolve(sessionControllersRef).create({ sessionOptions: { cwd: dir } })
  cleanup.push(() => controller.close())
  const events: ControllerEvent[] = []
  controller.subscribe((event) => events.push(event))
  return { dir, kernel, controller, events }
}

async function until<T>(get: () => T | undefined): Promise<T> {
  const deadline = Date.now() + HANG_LIMIT_MS
  for (;;) {
    const value = get()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const outputs = (events: readonly ControllerEvent[]) =>
  events.flatMap((e) => (e.type === 'output' ? [e.text] : []))

describe('SessionController', () => {
  it('puts a permission question on its board; answered by id, the run goes on', async () => {
    const h = await setup([
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'a.txt', content: 'hi\n' } }] },
      { text: 'Written.' },
    ])
    const done = h.controller.submit('write a.txt')
    const question = await until(() => h.controller.pending()[0])
    expect(question).toMatchObject({ kind: 'permission', request: { toolName: 'Write', toolCallId: 'w1' } })
    expect(h.events.some((e) => e.type === 'question' && e.question.id === question.id)).toBe(true)
    expect(h.controller.answer<'permission'>('no-such-id', 'allow')).toBe(false)
    expect(h.controller.answer<'permission'>(question.id, 'allow')).toBe(true)
    await done
    expect(h.controller.pending()).toEqual([])
    expect(h.events.some((e) => e.type === 'question-closed' && e.id === question.id)).toBe(true)
    const results = h.events.flatMap((e) =>
      e.type === 'agent' && e.event.type === 'result' ? [e.event.text] : [],
    )
    expect(results).toEqual(['Written.'])
  })

  it('approves a plan by id (a non-terminal frontend): the session goes on in the mode picked', async () => {
    const h = await setup([
      { toolCalls: [{ id: 'p1', name: 'ExitPlanMode', input: { plan: '# Do it\n\n1. Write b.txt' } }] },
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'b.txt', content: 'b\n' } }] },
      { text: 'Done.' },
    ])
    await h.controller.submit('/mode plan')
    expect(h.controller.session.permissions?.mode).toBe('plan')
    const done = h.controller.submit('make b.txt')
    const question = await until(() =>
      h.controller.pending().find((q): q is Extract<PendingQuestion, { kind: 'plan' }> => q.kind === 'plan'),
    )
    expect(question.request.plan).toBe('# Do it\n\n1. Write b.txt')
    h.controller.answer<'plan'>(question.id, { decision: 'approve', mode: 'acceptEdits' })
    await done
    // acceptEdits: the Write ran without a permission question.
    expect(h.controller.session.permissions?.mode).toBe('acceptEdits')
    expect(
      h.events.filter((e) => e.type === 'question').map((e) => e.type === 'question' && e.question.kind),
    ).toEqual(['plan'])
  })

  it('queues prompts while a run goes on, and abort() takes them back', async () => {
    const h = await setup([
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'c.txt', content: 'c\n' } }] },
      { text: 'never' },
    ])
    const first = h.controller.submit('first')
    await until(() => h.controller.pending()[0])
    void h.controller.submit('second')
    void h.controller.submit('/cost')
    expect(h.controller.queue).toEqual(['second', '/cost'])
    expect(h.controller.abort()).toEqual(['second', '/cost'])
    await first
    expect(h.controller.queue).toEqual([])
    // The aborted run's question was withdrawn.
    expect(h.controller.pending()).toEqual([])
    expect(h.events.filter((e) => e.type === 'input').map((e) => e.type === 'input' && e.text)).toEqual([
      'first',
    ])
  })

  it('runs the built-in commands; /clear opens a new session, /mode checks its argument', async () => {
    const h = await setup([])
    const before = h.controller.session.id
    await h.controller.submit('/clear')
    expect(h.controller.session.id).not.toBe(before)
    expect(h.events.some((e) => e.type === 'session' && e.reason === 'new conversation')).toBe(true)
    await h.controller.submit('/mode nonsense')
    await h.controller.submit('/frobnicate')
    expect(outputs(h.events)).toEqual([
      'new conversation',
      'usage: /mode default|acceptEdits|plan',
      'unknown command /frobnicate (try /help)',
    ])
  })

  it('the registry lists the built-ins first; a command file cannot shadow one', async () => {
    const h = await setup([])
    await mkdir(join(h.dir, '.tau', 'commands'), { recursive: true })
    await writeFile(join(h.dir, '.tau', 'commands', 'clear.md'), 'Delete everything.\n')
    const listed = await h.kernel.resolve(slashCommandsRef).list()
    expect(listed.commands[0]).toMatchObject({ name: 'help', source: 'built-in' })
    expect(listed.commands.find((c) => c.name === 'clear')).toMatchObject({ source: 'built-in' })
    expect(listed.problems.some((p) => /\/clear .* is shadowed by \/clear \(built-in\)/.test(p))).toBe(true)
    // A session command expands into no prompt: only a controller runs it.
    expect(await h.kernel.resolve(slashCommandsRef).expand('/clear')).toBeUndefined()
  })

  it('two controllers in one process keep their own questions', async () => {
    const h = await setup([
      { toolCalls: [{ id: 'x1', name: 'Write', input: { file_path: 'x.txt', content: 'x\n' } }] },
      { toolCalls: [{ id: 'y1', name: 'Write', input: { file_path: 'y.txt', content: 'y\n' } }] },
      { text: 'ok' },
      { text: 'ok' },
    ])
    const other = new SessionController({
      runtime: h.kernel.resolve(agentRuntimeRef),
      sessionOptions: { cwd: h.dir },
    })
    cleanup.push(() => other.close())
    const one = h.controller.submit('x')
    await until(() => h.controller.pending()[0])
    const two = other.submit('y')
    const theirs = await until(() => other.pending()[0])
    const mine = h.controller.pending()
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ request: { toolCallId: 'x1' } })
    expect(theirs).toMatchObject({ request: { toolCallId: 'y1' } })
    h.controller.answer<'permission'>(mine[0]!.id, 'deny')
    other.answer<'permission'>(theirs.id, 'allow')
    await Promise.all([one, two])
  })
})
