/** Slash commands: templates, command files from every folder, plugins' sources through the kernel. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { definePlugin, TauError } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import slashCommands, {
  commandDirectories,
  expandTemplate,
  loadCommandFiles,
  parseSlash,
  slashCommandSourceRef,
  slashCommandsRef,
  splitArguments,
} from '../../../plugins/slash-commands/index.js'

let dir: string
let home: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-slash-'))
  home = await mkdtemp(join(tmpdir(), 'tau-slash-home-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
  await rm(home, { recursive: true, force: true })
})

async function put(file: string, text: string) {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, text)
}

describe('templates', () => {
  it('expands $ARGUMENTS and $1..$9, and appends arguments a template does not use', () => {
    expect(expandTemplate('Fix issue $ARGUMENTS now', ' 12 fast ')).toBe('Fix issue 12 fast now')
    expect(expandTemplate('Move $1 to $2', 'a.ts b.ts')).toBe('Move a.ts to b.ts')
    expect(expandTemplate('Move $1 to $2', '"my file.ts" b.ts')).toBe('Move my file.ts to b.ts')
    expect(expandTemplate('Review the code', 'carefully')).toBe('Review the code\n\nARGUMENTS: carefully')
    expect(expandTemplate('Review the code', '')).toBe('Review the code')
  })

  it('splits argument words like a shell: quotes group, backslashes escape', () => {
    expect(splitArguments(`a "b c" 'd "e"' f\\ g ""`)).toEqual(['a', 'b c', 'd "e"', 'f g', ''])
    expect(splitArguments('   ')).toEqual([])
  })

  it('parses slash lines', () => {
    expect(parseSlash('/model ollama:qwen3:8b')).toEqual({ name: 'model', args: 'ollama:qwen3:8b' })
    expect(parseSlash('/mcp__srv__p one\ntwo')).toEqual({ name: 'mcp__srv__p', args: 'one\ntwo' })
    expect(parseSlash('hello /model')).toBeUndefined()
    expect(parseSlash('/')).toBeUndefined()
  })
})

describe('command files', () => {
  it('reads the project, .claude and user folders; subfolders label, the first name wins', async () => {
    await put(
      join(dir, '.tau/commands/review.md'),
      '---\ndescription: Review it\nargument-hint: "[file]"\n---\nReview $1\n',
    )
    await put(join(dir, '.tau/commands/frontend/component.md'), 'Make a component called $ARGUMENTS\n')
    await put(join(dir, '.claude/commands/legacy.md'), 'From Claude Code\n')
    await put(join(home, 'commands/review.md'), 'The user review\n')
    await put(join(home, 'commands/mine.md'), 'Mine\n')
    const loaded = await loadCommandFiles(commandDirectories(dir, home))
    expect(loaded.commands.map((c) => [c.name, c.source, c.description, c.argumentHint])).toEqual([
      ['component', 'project:frontend', 'Make a component called $ARGUMENTS', undefined],
      ['review', 'project', 'Review it', '[file]'],
      ['legacy', 'project', 'From Claude Code', undefined],
      ['mine', 'user', 'Mine', undefined],
    ])
    expect(loaded.problems).toHaveLength(1)
    expect(loaded.problems[0]).toMatch(
      /commands\/review\.md: \/review is already defined by .*\.tau\/commands\/review\.md/,
    )
    const review = loaded.commands.find((c) => c.name === 'review')!
    expect(await review.expand!('src/a.ts')).toBe('Review src/a.ts')
  })

  it('refuses ---js front matter without running it, and names the file', async () => {
    await put(join(dir, '.tau/commands/ok.md'), '---\ndescription: Fine\n---\nDo $ARGUMENTS\n')
    await put(
      join(dir, '.tau/commands/evil.md'),
      '---js\n{ description: (globalThis.__tauPwned = true, "x") }\n---\nbody\n',
    )
    await put(join(dir, '.tau/commands/bad name!.md'), 'x\n')
    const loaded = await loadCommandFiles(commandDirectories(dir, home))
    expect(loaded.commands.map((c) => c.name)).toEqual(['ok'])
    expect(loaded.problems.join('\n')).toMatch(/evil\.md: .*refused/)
    expect(loaded.problems.join('\n')).toMatch(/bad name!\.md: 'bad name!' is not a usable command name/)
    expect((globalThis as { __tauPwned?: boolean }).__tauPwned).toBeUndefined()
  })

  it('is empty without any folder', async () => {
    expect(await loadCommandFiles(commandDirectories(dir, home))).toEqual({ commands: [], problems: [] })
  })
})

describe('the registry through the kernel', () => {
  const standup = definePlugin({
    name: 'standup',
    optionalDependsOn: ['slash-commands'],
    setup(ctx) {
      ctx.provide(slashCommandSourceRef, {
        name: 'standup',
        list: () => ({
          commands: [
            {
              name: 'standup',
              description: 'Summarise',
              source: 'standup',
              expand: async (args) => {
                if (args === 'bad') throw new TauError('TAU_CONFIG_INVALID', 'no such team')
                return `Summarise ${args}`
              },
            },
            { name: 'review', description: 'shadowed', source: 'standup', expand: async () => 'x' },
          ],
          problems: [],
        }),
      })
      ctx.provide(slashCommandSourceRef, {
        name: 'broken',
        list: () => {
          throw new Error('server gone')
        },
      })
    },
  })

  it('merges every source, files first; a failing source is a problem, not an error', async () => {
    await put(join(dir, '.tau/commands/review.md'), 'Review $ARGUMENTS\n')
    const kernel = await createTestKernel({ plugins: [slashCommands, standup], cwd: dir, tauHome: home })
    try {
      const registry = kernel.resolve(slashCommandsRef)
      const listed = await registry.list()
      expect(listed.commands.map((c) => `${c.name}:${c.source}`)).toEqual([
        'review:project',
        'standup:standup',
      ])
      expect(listed.problems.join('\n')).toMatch(/standup: \/review .* is shadowed by \/review/)
      expect(listed.problems.join('\n')).toMatch(/broken: could not list commands: server gone/)
      expect(await registry.expand('/standup the web team')).toMatchObject({
        prompt: 'Summarise the web team',
      })
      expect(await registry.expand('/review a.ts')).toMatchObject({ prompt: 'Review a.ts' })
      expect(await registry.expand('/nothing here')).toBeUndefined()
      expect(await registry.expand('not a command')).toBeUndefined()
      await expect(registry.expand('/standup bad')).rejects.toThrow('no such team')
    } finally {
      await kernel.stop()
    }
  })

  it('reads extra directories from config, relative to the project', async () => {
    await put(join(dir, 'team-commands/deploy.md'), 'Deploy $1\n')
    const kernel = await createTestKernel({
      plugins: [slashCommands],
      cwd: dir,
      tauHome: home,
      config: { 'slash-commands': { directories: ['team-commands'] } },
    })
    try {
      expect(await kernel.resolve(slashCommandsRef).expand('/deploy prod')).toMatchObject({
        prompt: 'Deploy prod',
      })
    } finally {
      await kernel.stop()
    }
  })
})
