/**
 * ExitPlanMode (Claude Code's name and parameter): the model presents its plan. The plan is
 * saved as `<project>/<directory>/<date>-<slug>.md` through the session's environment (so the
 * workspace rules hold: a plans folder that is a symlink out of the workspace is refused), and
 * the session's UserInteraction is asked to approve it (`approvePlan`: the terminal's question, an
 * HTTP client's pending question, headless: rejected). Approved, the session's permission mode
 * becomes the one the user picked and the model carries the plan out in the same run; sent back,
 * the model gets the user's comments and revises it. The result's `display` is
 * `{ type: 'plan', file, plan, approval }` for frontends to show.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { agentLinkOf, type PlanApproval } from '../agent/index.js'
import type { PermissionMode } from '../permissions/index.js'
import { type Environment, EnvironmentError } from '../sandbox/index.js'
import type { ToolOutput } from '../tools/index.js'
import { builtJsonSchema, defineTool } from '../tools/index.js'

/** What the frontend gets in `tool-end.display`. */
export interface PlanDisplay {
  readonly type: 'plan'
  /** The saved plan's absolute path. */
  readonly file: string
  readonly plan: string
  /** What the user answered. */
  readonly approval: PlanApproval
}

/** Sets the session's permission mode (the agent session's permissions); false without one. */
export type SetMode = (sessionId: string, mode: PermissionMode) => boolean

const DESCRIPTION = `Use this tool when you are in plan mode and have finished planning: pass your whole plan as markdown. The plan is saved under the project's plans folder and shown to the user, who approves it or sends it back with comments; the result tells you which. Only use it for tasks that need code changes; for research or questions, just answer. Do not call other tools after it in the same turn.`

const MODE_TEXT: Record<'acceptEdits' | 'default', string> = {
  acceptEdits: 'acceptEdits (edits are made without asking)',
  default: 'default (the user approves each edit)',
}

/** What the model reads after the user's answer. */
export function approvalText(file: string, approval: PlanApproval, modeSet: boolean): string {
  switch (approval.decision) {
    case 'approve':
      return `The user approved the plan (saved at ${file}).${modeSet ? ` The permission mode is now ${MODE_TEXT[approval.mode]}.` : ''} Carry it out now.`
    case 'revise':
      return `The user did not approve the plan (saved at ${file}) and asks for changes:\n\n${approval.comments}\n\nRevise the plan and call ExitPlanMode again.`
    default:
      return `The plan (saved at ${file}) was not approved${approval.reason ? `: ${approval.reason}` : ''}. You are still in plan mode: make no changes. Stop here and wait for the user.`
  }
}

/** ExitPlanMode's input (its JSON Schema is the build's: scripts/bundle-bin.mjs). */
export const exitPlanModeInput = z.object({
  plan: z.string().min(1).describe('The plan, in markdown: concise, with the steps to carry out'),
})

export function createExitPlanModeTool(options: {
  projectDir: string
  directory: string
  /** Approved: the session goes on in the mode the user picked. */
  setMode?: SetMode
}) {
  // Read-only tools may run in parallel: two plans in one turn pick their names one at a time.
  let queue: Promise<unknown> = Promise.resolve()
  return defineTool({
    name: 'ExitPlanMode',
    description: DESCRIPTION,
    input: exitPlanModeInput,
    jsonSchema: builtJsonSchema('ExitPlanMode'),
    // Honest about what it does: it changes no project file and runs nothing. It only writes
    // tau's own plan file under the plans folder, at a name it builds itself (the model cannot
    // choose the path), as TodoWrite only changes the session's list. That is what lets it run in
    // plan mode, where only read-only tools run.
    annotations: { readOnly: true, destructive: false, idempotent: false, openWorld: false },
    async execute({ plan }, ctx): Promise<ToolOutput> {
      const folder = join(options.projectDir, options.directory)
      const save = async () => {
        const name = await freeName(ctx.env, folder, `${today()}-${slugOf(plan)}`)
        await ctx.env.writeFile(name, plan.endsWith('\n') ? plan : `${plan}\n`)
        return name
      }
      const saved = queue.then(save, save)
      queue = saved.catch(() => undefined)
      const file = await saved
      const link = agentLinkOf(ctx)
      const approval: PlanApproval = link
        ? await link.interaction.approvePlan({
            sessionId: ctx.sessionId,
            toolCallId: ctx.callId,
            plan,
            file,
            signal: ctx.signal,
          })
        : { decision: 'reject', reason: 'it ran outside an agent session, so nobody could be asked' }
      const modeSet =
        approval.decision === 'approve' && (options.setMode?.(ctx.sessionId, approval.mode) ?? false)
      const display: PlanDisplay = { type: 'plan', file, plan, approval }
      return { content: [{ type: 'text', text: approvalText(file, approval, modeSet) }], display }
    },
  })
}

/** A file name from the plan's first heading (or first line): lowercase words joined by `-`. */
export function slugOf(plan: string): string {
  const lines = plan.split('\n').map((line) => line.trim())
  const title = lines.find((line) => /^#{1,6}\s/.test(line)) ?? lines.find((line) => line !== '') ?? ''
  const slug = title
    .replace(/^#+\s*/, '')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '')
  return slug === '' ? 'plan' : slug
}

function today(): string {
  const now = new Date()
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}

/** `<base>.md`, or `<base>-2.md`, ... when a plan of that name exists (a plan is never overwritten). */
async function freeName(env: Environment, folder: string, base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const file = join(folder, n === 1 ? `${base}.md` : `${base}-${n}.md`)
    try {
      await env.stat(file)
    } catch (error) {
      if (error instanceof EnvironmentError && error.kind === 'not-found') return file
      throw error
    }
  }
}
