/** A skill's `allowed-tools` limits the tools offered and allowed for the rest of the run. */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import skills from '../../../plugins/skills/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { allowAll, harness, ofType, toolText } from '../agent/helpers.js'
import { writeSkill } from './helpers.js'

describe('skills: allowed-tools while the skill is active', () => {
  it('offers and allows only the listed tools (plus Skill) after the skill loads, for that run only', async () => {
    const ran: string[] = []
    const tool = (name: string) =>
      defineTool({
        name,
        description: `${name} test tool`,
        input: z.object({}),
        async execute() {
          ran.push(name)
          return `${name} ran`
        },
      })
    const h = await harness({
      plugins: [skills],
      tools: [tool('Read'), tool('Write'), tool('Grep')],
      decide: allowAll,
      turns: [
        { toolCalls: [{ id: 'c1', name: 'Write', input: {} }] },
        { toolCalls: [{ id: 'c2', name: 'Skill', input: { skill: 'pdf-forms' } }] },
        {
          toolCalls: [
            { id: 'c3', name: 'Write', input: {} },
            { id: 'c4', name: 'Read', input: {} },
          ],
        },
        { toolCalls: [{ id: 'c5', name: 'Skill', input: { skill: 'narrow' } }] },
        { toolCalls: [{ id: 'c6', name: 'Read', input: {} }] },
        { text: 'done' },
        { toolCalls: [{ id: 'c7', name: 'Write', input: {} }] },
        { text: 'done again' },
      ],
    })
    const dir = join(h.kernel.paths.projectDir, '.tau/skills')
    await writeSkill(
      dir,
      'pdf-forms',
      '---\nname: pdf-forms\ndescription: Fill PDF forms.\nallowed-tools: Read Grep Bash(python3:*)\n---\n',
    )
    // A later skill narrows the limit; listing Write does not widen it back.
    await writeSkill(
      dir,
      'narrow',
      '---\nname: narrow\ndescription: Narrow.\nallowed-tools: Grep Write\n---\n',
    )
    const session = h.session()
    const events = await h.run(session, 'fill the form')
    const offered = h.scripted.requests.map((request) => (request.tools ?? []).map((t) => t.name).sort())
    expect(offered[0]).toEqual(['Grep', 'Read', 'Skill', 'Write'])
    expect(offered[1]).toEqual(['Grep', 'Read', 'Skill', 'Write'])
    expect(offered[2]).toEqual(['Grep', 'Read', 'Skill'])
    expect(offered[3]).toEqual(['Grep', 'Read', 'Skill'])
    expect(offered[4]).toEqual(['Grep', 'Skill'])
    expect(offered[5]).toEqual(['Grep', 'Skill'])
    expect(ran).toEqual(['Write', 'Read'])
    expect(toolText(events, 'c3')).toContain(
      'Permission to use Write was denied: the active skill allows only',
    )
    expect(toolText(events, 'c6')).toContain('Permission to use Read was denied')
    const denied = ofType(events, 'permission-decision').filter((e) => e.behavior === 'deny')
    expect(denied.map((e) => e.id)).toEqual(['c3', 'c6'])

    // The next run starts without the limit.
    const again = await h.run(session, 'write it')
    expect((h.scripted.requests[6]!.tools ?? []).map((t) => t.name).sort()).toEqual([
      'Grep',
      'Read',
      'Skill',
      'Write',
    ])
    expect(toolText(again, 'c7')).toBe('Write ran')
    expect(ran).toEqual(['Write', 'Read', 'Write'])
  })

  it('a skill without allowed-tools limits nothing', async () => {
    const h = await harness({
      plugins: [skills],
      tools: [
        defineTool({
          name: 'Write',
          description: 'w',
          input: z.object({}),
          execute: async () => 'Write ran',
        }),
      ],
      decide: allowAll,
      turns: [
        { toolCalls: [{ id: 'c1', name: 'Skill', input: { skill: 'free' } }] },
        { toolCalls: [{ id: 'c2', name: 'Write', input: {} }] },
        { text: 'done' },
      ],
    })
    await writeSkill(join(h.kernel.paths.projectDir, '.tau/skills'), 'free', {
      name: 'free',
      description: 'Free.',
    })
    const events = await h.run(h.session(), 'go')
    expect((h.scripted.requests[1]!.tools ?? []).map((t) => t.name).sort()).toEqual(['Skill', 'Write'])
    expect(toolText(events, 'c2')).toBe('Write ran')
  })
})
