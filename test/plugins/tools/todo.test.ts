import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Todo } from '../../../plugins/agent/events.js'
import { TODOS_KEY, todoWriteTool } from '../../../plugins/tools/builtins/todo.js'
import { createWorkspace, textOf, type Workspace } from './builtins-context.js'

let ws: Workspace
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await ws.dispose()
})

const todo = (content: string, status: Todo['status']): Todo => ({
  content,
  status,
  activeForm: `${content}ing`,
})

describe('TodoWrite', () => {
  it('declares Claude Code parameters and needs no environment', () => {
    expect(todoWriteTool.name).toBe('TodoWrite')
    const items = (todoWriteTool.inputSchema.properties as Record<string, { items: Record<string, unknown> }>)
      .todos?.items
    expect(items?.required).toEqual(['content', 'status', 'activeForm'])
    expect(items?.properties).toMatchObject({ status: { enum: ['pending', 'in_progress', 'completed'] } })
    expect(todoWriteTool.annotations).toMatchObject({ readOnly: true })
    expect(todoWriteTool.permissionTarget).toBeUndefined()
  })

  it('keeps the list in the session state and returns it as display.todos', async () => {
    const todos = [todo('Read', 'completed'), todo('Fix', 'in_progress'), todo('Test', 'pending')]
    const out = await ws.run(todoWriteTool, { todos })
    expect(out.isError).toBeUndefined()
    expect(ws.state.get(TODOS_KEY)).toEqual(todos)
    expect(out.display).toEqual({ todos, previous: [] })
    expect(textOf(out)).toMatch(/3 items \(1 completed, 1 in progress, 1 pending\)/)
  })

  it('replaces the whole list on each call, and reports the previous one', async () => {
    const first = [todo('Read', 'in_progress'), todo('Fix', 'pending')]
    await ws.run(todoWriteTool, { todos: first })
    const second = [todo('Read', 'completed'), todo('Fix', 'in_progress')]
    const out = await ws.run(todoWriteTool, { todos: second })
    expect(ws.state.get(TODOS_KEY)).toEqual(second)
    expect(out.display).toEqual({ todos: second, previous: first })
    await ws.run(todoWriteTool, { todos: [] })
    expect(ws.state.get(TODOS_KEY)).toEqual([])
  })

  it('drops unknown fields (an older id/priority form) rather than storing them', async () => {
    await ws.run(todoWriteTool, { todos: [{ ...todo('Read', 'pending'), id: '1', priority: 'high' }] })
    expect(ws.state.get(TODOS_KEY)).toEqual([todo('Read', 'pending')])
  })

  it('accepts more than one item in progress, with advice', async () => {
    const todos = [todo('A', 'in_progress'), todo('B', 'in_progress')]
    const out = await ws.run(todoWriteTool, { todos })
    expect(out.isError).toBeUndefined()
    expect(ws.state.get(TODOS_KEY)).toEqual(todos)
    expect(textOf(out)).toMatch(/2 items are in_progress; keep exactly one/)
  })

  it('rejects a bad status, a missing activeForm and empty content', async () => {
    await expect(
      ws.run(todoWriteTool, { todos: [{ content: 'A', status: 'done', activeForm: 'x' }] }),
    ).rejects.toThrow(/invalid input/)
    await expect(ws.run(todoWriteTool, { todos: [{ content: 'A', status: 'pending' }] })).rejects.toThrow(
      /invalid input/,
    )
    await expect(
      ws.run(todoWriteTool, { todos: [{ content: '', status: 'pending', activeForm: 'x' }] }),
    ).rejects.toThrow(/invalid input/)
    expect(ws.state.get(TODOS_KEY)).toBeUndefined()
  })

  it('keeps lists of two sessions apart', async () => {
    const other = await createWorkspace()
    try {
      await ws.run(todoWriteTool, { todos: [todo('Mine', 'pending')] })
      await other.run(todoWriteTool, { todos: [todo('Theirs', 'pending')] })
      expect(ws.state.get<Todo[]>(TODOS_KEY)?.[0]?.content).toBe('Mine')
      expect(other.state.get<Todo[]>(TODOS_KEY)?.[0]?.content).toBe('Theirs')
    } finally {
      await other.dispose()
    }
  })
})
