/** ExitPlanMode through the real agent loop: it runs in plan mode, saves the plan, refuses an escape. */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, {
  type AgentEvent,
  agentRuntimeRef,
  type PlanApproval,
  type PlanApprovalRequest,
  type UserInteraction,
} from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import plan, { slugOf } from '../../../plugins/plan/index.js'
import providerScripted, { type ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools from '../../../plugins/tools/index.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((fn) => fn()))
})

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  cleanup.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function runInPlanMode(
  dir: string,
  turns: ScriptTurn[],
  interaction?: UserInteraction,
): Promise<AgentEvent[]> {
  const kernel: TestKernel = await createTestKernel({
    cwd: dir,
    plugins: [providers, providerScripted, sandbox, tools, permissions, agent, plan],
    config: { model: 'scripted:test', providers: { scripted: { turns } } },
  })
  cleanup.push(() => kernel.stop())
  const session = kernel.resolve(agentRuntimeRef).createSession({
    scope: kernel.createSession(),
    permissionMode: 'plan',
    ...(interaction ? { interaction } : {}),
  })
  const events: AgentEvent[] = []
  for await (const event of session.run('plan the refactor')) events.push(event)
  await session.close()
  return events
}

const PLAN = '# Split the parser\n\n1. Move the lexer to lexer.ts\n2. Add tests\n'
const exitPlan = (text: string): ScriptTurn => ({
  toolCalls: [{ id: 'p1', name: 'ExitPlanMode', input: { plan: text } }],
})

function toolEnd(events: readonly AgentEvent[], id: string) {
  const end = events.find((e) => e.type === 'tool-end' && e.id === id)
  if (end?.type !== 'tool-end') throw new Error(`no tool-end for ${id}`)
  return end
}

describe('ExitPlanMode', () => {
  it('runs in plan mode (where Write is denied), saves the plan and hands it to the frontend', async () => {
    const dir = await temp('tau-plan-')
    const events = await runInPlanMode(dir, [
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: join(dir, 'x.ts'), content: 'x' } }] },
      exitPlan(PLAN),
      { text: 'Waiting for approval.' },
    ])
    const decisions = events.filter((e) => e.type === 'permission-decision')
    expect(decisions.map((d) => (d.type === 'permission-decision' ? [d.name, d.behavior] : []))).toEqual([
      ['Write', 'deny'],
      ['ExitPlanMode', 'allow'],
    ])
    expect(existsSync(join(dir, 'x.ts'))).toBe(false)
    const end = toolEnd(events, 'p1')
    expect(end.result.isError).toBeUndefined()
    const display = end.display as { type: string; file: string; plan: string }
    expect(display).toMatchObject({ type: 'plan', plan: PLAN })
    expect(display.file).toMatch(
      new RegExp(
        `^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.tau/plans/\\d{4}-\\d{2}-\\d{2}-split-the-parser\\.md$`,
      ),
    )
    expect(await readFile(display.file, 'utf8')).toBe(PLAN)
    expect(end.result.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining(display.file) })
  })

  it('ends the run at ExitPlanMode in plan mode, with the plan as the answer for the user to approve', async () => {
    const dir = await temp('tau-plan-end-')
    const events = await runInPlanMode(dir, [exitPlan(PLAN), { text: 'this turn must not be played' }])
    const result = events.at(-1)
    expect(result).toMatchObject({
      type: 'result',
      stopReason: 'end-turn',
      isError: false,
      text: PLAN,
      turns: 1,
    })
  })

  it('never overwrites a plan, and a title cannot steer the file out of the plans folder', async () => {
    const dir = await temp('tau-plan-')
    // Two calls in one turn (the run ends after the turn that saved a plan).
    const events = await runInPlanMode(dir, [
      {
        toolCalls: [
          { id: 'p1', name: 'ExitPlanMode', input: { plan: '# ../../etc/passwd\nstep' } },
          { id: 'p2', name: 'ExitPlanMode', input: { plan: '# ../../etc/passwd\nagain' } },
        ],
      },
    ])
    const files = (await readdir(join(dir, '.tau/plans'))).sort()
    expect(files).toHaveLength(2)
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}-etc-passwd-2\.md$/)
    expect(files[1]).toMatch(/^\d{4}-\d{2}-\d{2}-etc-passwd\.md$/)
    expect((toolEnd(events, 'p2').display as { file: string }).file).toContain('-etc-passwd-2.md')
  })

  it('refuses a plans folder that leads out of the workspace (a symlink), writing nothing there', async () => {
    const dir = await temp('tau-plan-')
    const outside = await temp('tau-outside-')
    await mkdir(join(dir, '.tau'), { recursive: true })
    await symlink(outside, join(dir, '.tau/plans'))
    const events = await runInPlanMode(dir, [exitPlan(PLAN), { text: 'ok' }])
    const end = toolEnd(events, 'p1')
    expect(end.result.isError).toBe(true)
    expect(JSON.stringify(end.result.content)).toMatch(/outside/i)
    expect(await readdir(outside)).toEqual([])
  })

  it('builds file names from the first heading, else the first line', () => {
    expect(slugOf('# Add OAuth login!\n\nsteps')).toBe('add-oauth-login')
    expect(slugOf('\n\nRefactor the cache layer\n- a')).toBe('refactor-the-cache-layer')
    expect(slugOf('## ***')).toBe('plan')
    expect(slugOf(`# ${'word '.repeat(30)}`).length).toBeLessThanOrEqual(50)
  })

  it('asks the session’s UserInteraction (a non-terminal frontend); approved, the run carries it out in the mode picked', async () => {
    const dir = await temp('tau-plan-approve-')
    const asked: PlanApprovalRequest[] = []
    const interaction: UserInteraction = {
      approvePlan: async (request) => {
        asked.push(request)
        return { decision: 'approve', mode: 'acceptEdits' }
      },
    }
    const target = join(dir, 'lexer.ts')
    const events = await runInPlanMode(
      dir,
      [
        exitPlan(PLAN),
        { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: target, content: 'export {}\n' } }] },
        { text: 'Done.' },
      ],
      interaction,
    )
    expect(asked).toHaveLength(1)
    expect(asked[0]).toMatchObject({ toolCallId: 'p1', plan: PLAN })
    expect(asked[0]!.file).toMatch(/split-the-parser\.md$/)
    const end = toolEnd(events, 'p1')
    expect(end.result.content[0]).toMatchObject({
      type: 'text',
      text: expect.stringMatching(/^The user approved the plan .*The permission mode is now acceptEdits/),
    })
    expect((end.display as { approval: PlanApproval }).approval).toEqual({
      decision: 'approve',
      mode: 'acceptEdits',
    })
    // acceptEdits: the Write that plan mode denied now runs without a question.
    expect(await readFile(target, 'utf8')).toBe('export {}\n')
    expect(events.at(-1)).toMatchObject({ type: 'result', text: 'Done.', stopReason: 'end-turn' })
  })

  it('sent back with comments, the model reads them and plans again in the same run', async () => {
    const dir = await temp('tau-plan-revise-')
    const answers: PlanApproval[] = [
      { decision: 'revise', comments: 'add a benchmark step' },
      { decision: 'reject', reason: 'the user wants to think' },
    ]
    const plans: string[] = []
    const events = await runInPlanMode(
      dir,
      [
        exitPlan(PLAN),
        { toolCalls: [{ id: 'p2', name: 'ExitPlanMode', input: { plan: `${PLAN}3. Benchmark\n` } }] },
        { text: 'this turn must not be played' },
      ],
      {
        approvePlan: async (request) => {
          plans.push(request.plan)
          return answers.shift()!
        },
      },
    )
    expect(plans).toEqual([PLAN, `${PLAN}3. Benchmark\n`])
    const first = toolEnd(events, 'p1').result.content[0]
    expect(first).toMatchObject({
      text: expect.stringContaining('asks for changes:\n\nadd a benchmark step\n\nRevise the plan'),
    })
    // Rejected: still plan mode, the run ends with the plan for the user.
    expect(toolEnd(events, 'p2').result.content[0]).toMatchObject({
      text: expect.stringContaining('was not approved: the user wants to think. You are still in plan mode'),
    })
    expect(events.at(-1)).toMatchObject({ type: 'result', text: `${PLAN}3. Benchmark\n`, turns: 2 })
  })

  it('headless (no interaction): the plan is rejected saying nobody could be asked', async () => {
    const dir = await temp('tau-plan-headless-')
    const events = await runInPlanMode(dir, [exitPlan(PLAN), { text: 'must not be played' }])
    expect(toolEnd(events, 'p1').result.content[0]).toMatchObject({
      text: expect.stringContaining('was not approved: there is no user to ask (headless)'),
    })
    expect(events.at(-1)).toMatchObject({ type: 'result', text: PLAN, turns: 1 })
  })
})
