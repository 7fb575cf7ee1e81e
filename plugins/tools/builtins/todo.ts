/**
 * TodoWrite: the session's task list. Each call sends the whole list, which replaces the previous
 * one. The list is kept in the tool state under `todos`, and returned as `display.todos` so the
 * agent emits a `todos` event for frontends.
 */
import { z } from 'zod'
import { defineTool } from '../registry.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { builtJsonSchema } from './defaults.js'

/** The tool-state key holding the session's todo list (a `Todo[]`). */
export const TODOS_KEY = 'todos'

/** One item of the task list; the agent's `todos` event carries the list. */
export interface Todo {
  readonly content: string
  readonly status: 'pending' | 'in_progress' | 'completed'
  /** The present-tense form shown while in progress ("Running tests"). */
  readonly activeForm?: string
}

const todoSchema = z.object({
  content: z.string().min(1).describe('What to do, in the imperative ("Run the tests")'),
  status: z.enum(['pending', 'in_progress', 'completed']),
  activeForm: z.string().min(1).describe('The same task in the present continuous ("Running the tests")'),
})

const DESCRIPTION = `Creates and updates the task list for this session; the user sees it as your working plan.

- Use it for work of three or more steps, or when the user gives you several tasks; skip it for a single trivial task.
- Send the whole list every time; it replaces the previous one.
- Each item has content (imperative: "Fix the parser"), activeForm (present continuous: "Fixing the parser") and status: pending, in_progress or completed.
- Mark an item in_progress before you start it and completed as soon as it is done. Keep exactly one item in_progress at a time.
- Mark an item completed only when it is fully done (tests pass, nothing left unresolved); otherwise keep it in_progress and add an item for what blocks it.`

export interface TodoWriteInput {
  todos: Todo[]
}

export const todoWriteTool: Tool<TodoWriteInput> = defineTool({
  name: 'TodoWrite',
  jsonSchema: builtJsonSchema('TodoWrite'),
  description: DESCRIPTION,
  input: z.object({
    todos: z.array(todoSchema).describe('The whole, updated task list'),
  }),
  // It only changes the session's own list, never the environment: usable in plan mode, no prompt.
  annotations: { readOnly: true, idempotent: true },
  execute: async (call, ctx) => writeTodos(call, ctx),
})

function writeTodos(call: TodoWriteInput, ctx: ToolContext): ToolOutput {
  const todos: Todo[] = call.todos.map(({ content, status, activeForm }) => ({ content, status, activeForm }))
  const previous = ctx.state.get<Todo[]>(TODOS_KEY) ?? []
  ctx.state.set(TODOS_KEY, todos)

  const count = (status: Todo['status']) => todos.filter((todo) => todo.status === status).length
  const inProgress = count('in_progress')
  const lines = [
    todos.length === 0
      ? 'The todo list is now empty.'
      : `Todo list updated: ${todos.length} item${todos.length === 1 ? '' : 's'} (${count('completed')} completed, ${inProgress} in progress, ${count('pending')} pending). Keep it current as you work, and carry on with the task in progress.`,
  ]
  // Advice, not an error (as in Claude Code): the list is stored as sent.
  if (inProgress > 1) {
    lines.push(`Note: ${inProgress} items are in_progress; keep exactly one in progress at a time.`)
  }
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    display: { todos, previous },
  }
}
