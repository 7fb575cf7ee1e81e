import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import matter from 'gray-matter'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { definePlugin, textOf } from '../../../kernel/index.js'
import skills, {
  Bm25Index,
  discoverSkills,
  parseFrontmatter,
  parseSkill,
  SAFE_MATTER_OPTIONS,
  type SkillCatalog,
  skillCatalogRef,
  skillDirectoriesRef,
  skillsSection,
} from '../../../plugins/skills/index.js'
import { allowAll, harness, ofType, toolText } from '../agent/helpers.js'
import { runCommand, writeSkill } from './helpers.js'

let temp: string
beforeEach(async () => {
  temp = await mkdtemp(join(tmpdir(), 'tau-skills-'))
})
afterEach(async () => {
  await rm(temp, { recursive: true, force: true })
})

const extraDirPlugin = (dir: string) =>
  definePlugin({
    name: 'extra-skills',
    setup(ctx) {
      ctx.provide(skillDirectoriesRef, { dir, source: 'extra-skills' })
    },
  })

describe('skills: discovery', () => {
  it('finds SKILL.md folders in .tau/skills, .claude/skills, <tauHome>/skills, config and plugin directories', async () => {
    const pluginDir = join(temp, 'plugin-skills')
    const h = await harness({
      plugins: [skills, extraDirPlugin(pluginDir)],
      // tau's own skills (source tau) are left out here: shipped.test.ts covers them.
      config: { skills: { directories: ['more-skills'], builtin: false } },
    })
    const { projectDir, tauHome } = h.kernel.paths
    await writeSkill(join(projectDir, '.tau/skills'), 'project-one', {
      name: 'project-one',
      description: 'p',
    })
    await writeSkill(join(projectDir, '.claude/skills'), 'claude-one', {
      name: 'claude-one',
      description: 'c',
    })
    await writeSkill(join(tauHome, 'skills'), 'user-one', { name: 'user-one', description: 'u' })
    await writeSkill(join(projectDir, 'more-skills'), 'config-one', { name: 'config-one', description: 'x' })
    await writeSkill(pluginDir, 'plugin-one', { name: 'plugin-one', description: 'y' })
    // A folder without SKILL.md and a hidden folder are not skills.
    await mkdir(join(projectDir, '.tau/skills/not-a-skill'), { recursive: true })
    await writeSkill(join(projectDir, '.tau/skills'), '.hidden', { name: 'hidden', description: 'h' })

    const index = await h.kernel.resolve(skillCatalogRef).load()
    expect(index.skills.map((s) => [s.name, s.source, s.status])).toEqual([
      ['project-one', 'project', 'ok'],
      ['claude-one', 'claude', 'ok'],
      ['user-one', 'user', 'ok'],
      ['config-one', 'config', 'ok'],
      ['plugin-one', 'extra-skills', 'ok'],
    ])
    expect(index.byName.get('user-one')?.dir).toBe(join(tauHome, 'skills', 'user-one'))
  })

  it('lets the project win over the user level for one name, reporting the other as skipped (unique)', async () => {
    const project = join(temp, 'project')
    const user = join(temp, 'user')
    await writeSkill(project, 'deploy', { name: 'deploy', description: 'project deploy' })
    const shadowed = await writeSkill(user, 'deploy', { name: 'deploy', description: 'user deploy' })
    const index = await discoverSkills([
      { dir: project, source: 'project' },
      { dir: user, source: 'user' },
    ])
    expect(index.byName.get('deploy')?.meta?.description).toBe('project deploy')
    const other = index.all.find((s) => s.file === shadowed)
    expect(other?.status).toBe('skipped')
    expect(other?.problems).toContainEqual(
      expect.objectContaining({ file: shadowed, field: 'name', rule: 'unique', severity: 'error' }),
    )
  })

  it('treats missing directories as empty', async () => {
    const index = await discoverSkills([{ dir: join(temp, 'nope'), source: 'project' }])
    expect(index.all).toEqual([])
  })
})

describe('skills: frontmatter is YAML only, never executed', () => {
  const evil = (marker: string, language: string) =>
    `---${language}\n(function () { require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); return { name: 'evil', description: 'evil' } })()\n---\n# Evil\n`

  it('the fixture really runs under gray-matter defaults (so the refusal below means something)', () => {
    const marker = join(temp, 'default-ran')
    matter(evil(marker, 'js'), { language: 'yaml' })
    expect(existsSync(marker)).toBe(true)
  })

  it.each(['js', 'javascript', 'coffee'])(
    'refuses ---%s front matter when listing skills: nothing runs, the skill is skipped',
    async (language) => {
      const marker = join(temp, `marker-${language}`)
      const dir = join(temp, 'skills')
      await mkdir(join(dir, 'evil'), { recursive: true })
      const file = join(dir, 'evil', 'SKILL.md')
      await writeFile(file, evil(marker, language))
      const index = await discoverSkills([{ dir, source: 'project' }])
      expect(existsSync(marker)).toBe(false)
      expect(index.skills).toEqual([])
      expect(index.all[0]).toMatchObject({ status: 'skipped', name: 'evil' })
      expect(index.all[0]?.problems[0]).toMatchObject({
        file,
        field: 'frontmatter',
        rule: 'yaml-only',
        severity: 'error',
      })
      expect(() => parseFrontmatter(evil(marker, language))).toThrow(/only YAML/)
      expect(existsSync(marker)).toBe(false)
    },
  )

  it('the engine override refuses on its own too (second fence)', () => {
    const marker = join(temp, 'engine-ran')
    expect(() => matter(evil(marker, 'js'), SAFE_MATTER_OPTIONS)).toThrow(/only YAML/)
    expect(() => matter(evil(marker, 'javascript'), SAFE_MATTER_OPTIONS)).toThrow(/only YAML/)
    expect(existsSync(marker)).toBe(false)
  })

  it('does not run YAML tags that would construct functions', () => {
    const parsed = parseSkill(
      '---\nname: x\ndescription: !!js/function "function(){ return 1 }"\n---\n',
      '/s/x/SKILL.md',
      'x',
    )
    expect(parsed.meta).toBeUndefined()
    expect(parsed.problems[0]).toMatchObject({ field: 'frontmatter', rule: 'yaml-syntax' })
  })
})

describe('skills: frontmatter rules (Agent Skills specification)', () => {
  const file = '/skills/pdf-tools/SKILL.md'
  const parse = (fm: string, folder = 'pdf-tools') => parseSkill(`---\n${fm}\n---\nbody\n`, file, folder)

  it('accepts a complete, valid skill without problems', () => {
    const parsed = parse(
      'name: pdf-tools\ndescription: Fill PDF forms.\nlicense: MIT\ncompatibility: needs python3\nmetadata:\n  author: ada\n  version: "1.0"\nallowed-tools: Read Bash(python3:*) Grep',
    )
    expect(parsed.problems).toEqual([])
    expect(parsed.meta).toEqual({
      name: 'pdf-tools',
      description: 'Fill PDF forms.',
      license: 'MIT',
      compatibility: 'needs python3',
      metadata: { author: 'ada', version: '1.0' },
      allowedTools: ['Read', 'Bash(python3:*)', 'Grep'],
    })
    expect(parsed.body).toBe('body\n')
  })

  // [frontmatter, folder, field, rule, severity]
  const cases: Array<[string, string, string, string, 'warning' | 'error']> = [
    [
      `name: pdf-tools\ndescription: "${'d'.repeat(1025)}"`,
      'pdf-tools',
      'description',
      'max-length',
      'warning',
    ],
    ['name: other-name\ndescription: d', 'pdf-tools', 'name', 'matches-folder', 'warning'],
    ['name: PDF_Tools\ndescription: d', 'PDF_Tools', 'name', 'charset', 'warning'],
    [`name: ${'a'.repeat(65)}\ndescription: d`, 'a'.repeat(65), 'name', 'max-length', 'warning'],
    ['name: -pdf\ndescription: d', '-pdf', 'name', 'hyphen-edge', 'warning'],
    ['name: pdf--tools\ndescription: d', 'pdf--tools', 'name', 'consecutive-hyphens', 'warning'],
    ['description: d', 'pdf-tools', 'name', 'required', 'warning'],
    ['name: [1]\ndescription: d', 'pdf-tools', 'name', 'type', 'warning'],
    ['name: pdf-tools', 'pdf-tools', 'description', 'required', 'error'],
    ['name: pdf-tools\ndescription: "  "', 'pdf-tools', 'description', 'required', 'error'],
    ['name: pdf-tools\ndescription: [a]', 'pdf-tools', 'description', 'type', 'error'],
    [
      `name: pdf-tools\ndescription: d\ncompatibility: "${'c'.repeat(501)}"`,
      'pdf-tools',
      'compatibility',
      'max-length',
      'warning',
    ],
    ['name: pdf-tools\ndescription: d\ncompatibility: 3', 'pdf-tools', 'compatibility', 'type', 'warning'],
    ['name: pdf-tools\ndescription: d\nlicense: [1]', 'pdf-tools', 'license', 'type', 'warning'],
    ['name: pdf-tools\ndescription: d\nmetadata: [1]', 'pdf-tools', 'metadata', 'type', 'warning'],
    ['name: pdf-tools\ndescription: d\nmetadata:\n  n: 1', 'pdf-tools', 'metadata', 'type', 'warning'],
    ['name: pdf-tools\ndescription: d\nallowed-tools: 3', 'pdf-tools', 'allowed-tools', 'type', 'warning'],
    ['name: pdf-tools\ndescription: d: e: f', 'pdf-tools', 'frontmatter', 'yaml-syntax', 'error'],
    ['- a\n- b', 'pdf-tools', 'frontmatter', 'mapping', 'error'],
  ]
  it.each(cases)(
    '%#: reports %s / %s / %s as %s with file, field and rule',
    (fm, folder, field, rule, severity) => {
      const f = `/skills/${folder}/SKILL.md`
      const parsed = parseSkill(`---\n${fm}\n---\nbody\n`, f, folder)
      expect(parsed.problems).toContainEqual(expect.objectContaining({ file: f, field, rule, severity }))
      if (severity === 'error') expect(parsed.meta).toBeUndefined()
      else expect(parsed.meta).toBeDefined()
    },
  )

  it('skips a file without frontmatter', () => {
    const parsed = parseSkill('# Just markdown\n', file, 'pdf-tools')
    expect(parsed.meta).toBeUndefined()
    expect(parsed.problems).toEqual([
      expect.objectContaining({ file, field: 'frontmatter', rule: 'required' }),
    ])
  })

  it('uses the folder name when name is missing, and accepts allowed-tools as a YAML list', () => {
    const parsed = parse('description: d\nallowed-tools: [Read, Grep]')
    expect(parsed.meta?.name).toBe('pdf-tools')
    expect(parsed.meta?.allowedTools).toEqual(['Read', 'Grep'])
  })

  it('loads lenient faults with a warning and skips broken files, in discovery and in `tau skills`', async () => {
    const h = await harness({ plugins: [skills], config: { skills: { builtin: false } } })
    const dir = join(h.kernel.paths.projectDir, '.tau/skills')
    await writeSkill(dir, 'good', { name: 'good', description: 'fine' })
    const long = await writeSkill(dir, 'long', { name: 'long', description: 'x'.repeat(1100) })
    const mismatch = await writeSkill(dir, 'folder-a', { name: 'name-b', description: 'd' })
    const broken = await writeSkill(dir, 'broken', '---\nname: broken\ndescription: [unclosed\n---\n')
    const index = await h.kernel.resolve(skillCatalogRef).load()
    expect(Object.fromEntries(index.all.map((s) => [s.folder, s.status]))).toEqual({
      broken: 'skipped',
      'folder-a': 'warning',
      good: 'ok',
      long: 'warning',
    })
    expect(index.byName.has('name-b')).toBe(true)
    expect(h.kernel.logs.some((r) => r.level === 'warn' && r.fields?.file === broken)).toBe(true)

    const { code, out } = await runCommand(h.kernel, 'skills')
    expect(code).toBe(1)
    expect(out).toContain('3 skill(s) loaded, 1 skipped')
    expect(out).toMatch(/skipped\s+broken/)
    expect(out).toContain(`error: ${broken}: frontmatter: yaml-syntax:`)
    expect(out).toContain(`warning: ${long}: description: max-length:`)
    expect(out).toContain(`warning: ${mismatch}: name: matches-folder:`)
    expect(out).toMatch(/ok\s+good/)

    const json = JSON.parse((await runCommand(h.kernel, 'skills', { json: true })).out)
    expect(json.skills.find((s: { name: string }) => s.name === 'broken').problems[0]).toMatchObject({
      file: broken,
      field: 'frontmatter',
      rule: 'yaml-syntax',
    })
  })

  it('a broken skill never stops the agent: the run ends normally and the good skills are listed', async () => {
    const h = await harness({ plugins: [skills], turns: [{ text: 'done' }] })
    const dir = join(h.kernel.paths.projectDir, '.tau/skills')
    await writeSkill(dir, 'broken', '---js\nthrow new Error("x")\n---\n')
    await writeSkill(dir, 'empty', '')
    await writeSkill(dir, 'good', { name: 'good', description: 'A good skill.' })
    const events = await h.run(h.session(), 'hello')
    expect(ofType(events, 'result')[0]).toMatchObject({ stopReason: 'end-turn', isError: false })
    const system = textOf(h.scripted.requests[0]!.messages[0]!)
    expect(system).toContain('- good: A good skill.')
    expect(system).not.toContain('broken')
  })
})

describe('skills: the list in the system prompt', () => {
  it('fits the budget, most relevant first, naming the rest', async () => {
    const dir = join(temp, 'skills')
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']
    for (const n of names)
      await writeSkill(dir, n, { name: n, description: `Handles ${n} work in depth. `.repeat(4) })
    const index = await discoverSkills([{ dir, source: 'project' }])
    const full = skillsSection(index.skills, 100_000)!
    expect(full.listed).toEqual(names)
    expect(full.omitted).toEqual([])
    const small = skillsSection(index.skills, full.text.length - 200)!
    expect(small.text.length).toBeLessThanOrEqual(full.text.length - 200)
    expect(small.omitted.length).toBeGreaterThan(0)
    expect(small.listed).toEqual(names.slice(0, small.listed.length))
    expect(small.text).toContain(`${small.omitted.length} more skill(s) not described here`)
    expect(small.text).toContain(small.omitted[0]!)
  })

  it('orders by the first prompt of the session (BM25), and keeps within skills.promptBudget', async () => {
    const h = await harness({
      plugins: [skills],
      turns: [{ text: 'ok' }],
      config: { skills: { promptBudget: 900 } },
    })
    const dir = join(h.kernel.paths.projectDir, '.tau/skills')
    await writeSkill(dir, 'csv-report', {
      name: 'csv-report',
      description: 'Builds reports from CSV spreadsheets.',
    })
    await writeSkill(dir, 'docker-deploy', {
      name: 'docker-deploy',
      description: 'Deploys containers with docker compose.',
    })
    await writeSkill(dir, 'pdf-forms', {
      name: 'pdf-forms',
      description: 'Fills in PDF forms and extracts PDF text.',
    })
    await writeSkill(dir, 'zz-long', { name: 'zz-long', description: 'filler '.repeat(120) })
    await h.run(h.session(), 'Please fill in the PDF form attached')
    const system = textOf(h.scripted.requests[0]!.messages[0]!)
    const section = system.slice(system.indexOf('# Skills'))
    expect(section.length).toBeLessThanOrEqual(900)
    expect(section.indexOf('- pdf-forms')).toBeGreaterThan(-1)
    expect(section.indexOf('- pdf-forms')).toBeLessThan(section.indexOf('- csv-report'))
    expect(section).not.toContain('- zz-long')
    expect(section).toContain('zz-long')
  })
})

describe('skills: BM25', () => {
  it('ranks by name and description, rarer terms weigh more', () => {
    const index = new Bm25Index([
      { id: 'pdf', text: 'pdf pdf Extract text and tables from PDF files, fill forms' },
      { id: 'xlsx', text: 'xlsx xlsx Read and write Excel spreadsheets, formulas and tables' },
      { id: 'git', text: 'git git Write commit messages from the staged diff' },
    ])
    expect(index.rank('extract the tables of this pdf')[0]?.id).toBe('pdf')
    expect(index.rank('excel formulas')[0]?.id).toBe('xlsx')
    expect(index.rank('write a commit message')[0]?.id).toBe('git')
    const none = index.rank('kubernetes')
    expect(none.every((r) => r.score === 0)).toBe(true)
    expect(none.map((r) => r.id)).toEqual(['git', 'pdf', 'xlsx'])
  })
})

describe('skills: the Skill tool', () => {
  it('returns the body with its base directory and allowed tools; relative files resolve from it', async () => {
    const h = await harness({
      plugins: [skills],
      decide: allowAll,
      turns: [
        { toolCalls: [{ id: 'c1', name: 'Skill', input: { skill: 'pdf-forms', args: 'form.pdf' } }] },
        { toolCalls: [{ id: 'c2', name: 'Skill', input: { skill: 'pdf-form' } }] },
        { text: 'done' },
      ],
    })
    const dir = join(h.kernel.paths.projectDir, '.tau/skills')
    await writeSkill(
      dir,
      'pdf-forms',
      '---\nname: pdf-forms\ndescription: Fill PDF forms.\nallowed-tools: Read Bash(python3:*)\n---\n',
      '# PDF forms\n\nRun scripts/fill.py, see references/fields.md.\n',
    )
    await mkdir(join(dir, 'pdf-forms/references'), { recursive: true })
    await writeFile(join(dir, 'pdf-forms/references/fields.md'), 'fields')
    const events = await h.run(h.session(), 'fill the form')
    const text = toolText(events, 'c1')
    const base = join(dir, 'pdf-forms')
    expect(text).toContain(`Base directory for this skill: ${base}`)
    expect(text).toContain('Run scripts/fill.py, see references/fields.md.')
    expect(text).toContain('ARGUMENTS: form.pdf')
    expect(text).not.toContain('description: Fill PDF forms.')
    expect(await readFile(join(base, 'references/fields.md'), 'utf8')).toBe('fields')
    const end = ofType(events, 'tool-end').find((e) => e.id === 'c1')!
    expect(end.result.isError).toBeUndefined()
    expect(end.display).toEqual({
      type: 'skill',
      skill: 'pdf-forms',
      baseDir: base,
      file: join(base, 'SKILL.md'),
      allowedTools: ['Read', 'Bash(python3:*)'],
    })
    const unknown = ofType(events, 'tool-end').find((e) => e.id === 'c2')!
    expect(unknown.result.isError).toBe(true)
    expect(toolText(events, 'c2')).toContain("no skill named 'pdf-form' (did you mean 'pdf-forms'?)")
  })

  it('says why a skipped skill cannot be loaded', async () => {
    const h = await harness({ plugins: [skills] })
    await writeSkill(join(h.kernel.paths.projectDir, '.tau/skills'), 'nodesc', { name: 'nodesc' })
    const catalog: SkillCatalog = h.kernel.resolve(skillCatalogRef)
    const { createSkillTool } = await import('../../../plugins/skills/skill-tool.js')
    const out = await createSkillTool(catalog.load).execute({ skill: 'nodesc' }, {} as never)
    expect(out).toMatchObject({ isError: true })
    expect(JSON.stringify(out)).toContain('description is required')
  })
})

describe('skills: the hint on userPromptSubmit', () => {
  it('adds a hint when one of many skills clearly matches, and none when nothing does', async () => {
    const h = await harness({ plugins: [skills], turns: [{ text: 'a' }, { text: 'b' }] })
    const dir = join(h.kernel.paths.projectDir, '.tau/skills')
    const topics = ['kafka', 'redis', 'nginx', 'terraform', 'ansible', 'grafana', 'prometheus', 'webpack']
    for (const t of topics)
      await writeSkill(dir, `${t}-helper`, {
        name: `${t}-helper`,
        description: `Configures ${t} for the project.`,
      })
    const session = h.session()
    await h.run(session, 'set up the terraform modules')
    const first = h.scripted.requests[0]!.messages.at(-1)!
    expect(textOf(first)).toContain("<skill-hint>The skill 'terraform-helper' looks relevant")
    await h.run(session, 'what is the weather like')
    const second = h.scripted.requests[1]!.messages.at(-1)!
    expect(textOf(second)).not.toContain('skill-hint')
  })

  it('gives no hint with few skills (the list says enough)', async () => {
    const h = await harness({ plugins: [skills], turns: [{ text: 'a' }] })
    await writeSkill(join(h.kernel.paths.projectDir, '.tau/skills'), 'terraform-helper', {
      name: 'terraform-helper',
      description: 'Configures terraform.',
    })
    await h.run(h.session(), 'terraform please')
    expect(textOf(h.scripted.requests[0]!.messages.at(-1)!)).not.toContain('skill-hint')
  })
})
