/**
 * The skills tau ships (top-level skills/, found from the installed package as source `tau`) and
 * its contributor skills (.claude/skills/tau-<plugin>-dev/): each passes tau's own Agent Skills
 * validator; every ```ts block in them type-checks against the built package's public exports
 * (compiled by tsc in a temporary project that has the package installed under its npm name);
 * every hook, config key, service and error code they name exists; the generated references
 * are current. And the skills plugin discovers them, and lists them only when asked to.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { textOf } from '../../../kernel/index.js'
import skills, {
  builtinSkillsDir,
  discoverSkills,
  findTauPackage,
  skillCatalogRef,
} from '../../../plugins/skills/index.js'
import { harness } from '../agent/helpers.js'
import {
  type CodeFacts,
  codeFacts,
  configReference,
  errorsReference,
  hooksReference,
  REFERENCES_DIR,
  REPO,
} from './skill-references.js'

const run = promisify(execFile)

const USAGE_SKILLS = [
  'tau-config',
  'tau-editors',
  'tau-hooks',
  'tau-mcp',
  'tau-orchestrate',
  'tau-plugin-authoring',
  'tau-providers',
  'tau-sandbox',
  'tau-serve',
  'tau-session-memory-skills',
  'tau-tools-and-permissions',
]

const SKILL_ROOTS = [
  { dir: join(REPO, 'skills'), source: 'tau' },
  { dir: join(REPO, '.claude', 'skills'), source: 'claude' },
]

/** Every shipped or contributor SKILL.md: [folder, text]. */
function skillFiles(): Array<{ root: string; folder: string; text: string }> {
  const files: Array<{ root: string; folder: string; text: string }> = []
  for (const { dir } of SKILL_ROOTS) {
    if (!existsSync(dir)) continue
    for (const folder of readdirSync(dir).sort()) {
      const file = join(dir, folder, 'SKILL.md')
      if (existsSync(file)) files.push({ root: dir, folder, text: readFileSync(file, 'utf8') })
    }
  }
  return files
}

/** Names of the TAU_ form that are environment variables, or the placeholder of the code format. */
const NOT_ERROR_CODES = new Set([
  'TAU_HOME',
  'TAU_PROJECT_DIR',
  'TAU_TRUST',
  'TAU_DATABASE_URL',
  'TAU_AREA_WHAT',
])

let facts: CodeFacts
beforeAll(async () => {
  facts = await codeFacts()
})

describe('shipped skills: the Agent Skills rules', () => {
  it('ships one usage skill per capability, each valid by tau’s validator (no problem at all)', async () => {
    const index = await discoverSkills(SKILL_ROOTS)
    const shipped = index.all.filter((s) => s.source === 'tau').map((s) => s.name)
    expect(shipped).toEqual(USAGE_SKILLS)
    for (const skill of index.all) {
      expect({ name: skill.name, status: skill.status, problems: skill.problems }).toEqual({
        name: skill.folder,
        status: 'ok',
        problems: [],
      })
    }
  })

  it('has contributor skills named tau-<plugin>-dev for plugins that exist', () => {
    const dev = skillFiles().filter((f) => f.root.endsWith(join('.claude', 'skills')))
    expect(dev.length).toBeGreaterThan(0)
    for (const { folder } of dev) {
      const plugin = /^tau-(.+)-dev$/.exec(folder)?.[1]
      expect(plugin, `${folder} is not named tau-<plugin>-dev`).toBeDefined()
      expect(
        plugin === 'kernel' || existsSync(join(REPO, 'plugins', plugin!)),
        `${folder}: no plugins/${plugin}`,
      ).toBe(true)
    }
  })

  it('keeps the package.json files list shipping skills/', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] }
    expect(pkg.files).toContain('skills')
  })
})

describe('shipped skills: what they name exists', () => {
  it('every error code, hook, config key and service named in backticks exists', () => {
    const roots = new Set<string>()
    for (const path of facts.configPaths) roots.add(path.split('.')[0]!)
    for (const name of facts.hooks.keys()) roots.add(name.split('.')[0]!)
    for (const id of facts.services) roots.add(id.split('.')[0]!)
    const missing: string[] = []
    let checked = 0
    for (const { folder, text } of skillFiles()) {
      for (const [, token] of text.matchAll(/`([^`\n]+)`/g)) {
        for (const code of token!.match(/\bTAU_[A-Z0-9_]+\b/g) ?? []) {
          checked++
          if (!facts.errorCodes.has(code) && !NOT_ERROR_CODES.has(code))
            missing.push(`${folder}: error code ${code}`)
        }
        if (!/^[a-z][A-Za-z0-9-]*(\.[A-Za-z][A-Za-z0-9-]*)+$/.test(token!)) continue
        // File names (`hooks.ts`, `settings.json`) are not keys.
        if (/\.(ts|mts|js|mjs|cjs|json|jsonl|md|yaml|yml)$/.test(token!)) continue
        if (!roots.has(token!.split('.')[0]!)) continue
        checked++
        if (!facts.configPaths.has(token!) && !facts.hooks.has(token!) && !facts.services.has(token!))
          missing.push(`${folder}: ${token}`)
      }
    }
    expect(checked).toBeGreaterThan(50)
    expect(missing).toEqual([])
  })

  it('the references/ of tau-plugin-authoring are generated from the code and current', () => {
    const files = {
      'hooks.md': hooksReference(facts),
      'config.md': configReference(facts),
      'errors.md': errorsReference(),
    }
    for (const [name, text] of Object.entries(files)) {
      const file = join(REFERENCES_DIR, name)
      if (process.env.UPDATE_REFERENCE) {
        writeFileSync(file, text)
        continue
      }
      expect(
        existsSync(file) ? readFileSync(file, 'utf8') : '',
        `${file} is stale: run UPDATE_REFERENCE=1 npx vitest run test/plugins/skills`,
      ).toBe(text)
    }
    // What the skill's text promises is in them.
    expect(files['hooks.md']).toContain('`agent.preToolUse` | AsyncSeriesBailHook')
    expect(files['config.md']).toContain('| `skills.builtin` | skills | `"ranked"` |')
    expect(files['errors.md']).toContain('`TAU_CONFIG_INVALID`')
  })
})

describe('shipped skills: their TypeScript compiles against the built package', () => {
  let project: string
  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true })
  })

  it('type-checks every ```ts block (tsc, strict) with the package installed under its npm name', async () => {
    const pkg = findTauPackage(join(REPO, 'plugins', 'skills', 'index.ts'))!
    project = await mkdtemp(join(tmpdir(), 'tau-skill-blocks-'))
    const modules = join(project, 'node_modules')
    await mkdir(dirname(join(modules, pkg.name)), { recursive: true })
    // The package as a user's project has it (its exports and dist/ types), and what blocks import.
    await symlink(REPO, join(modules, pkg.name), 'dir')
    for (const dep of ['zod', 'vitest', '@types'])
      await symlink(join(REPO, 'node_modules', dep), join(modules, dep), 'dir')
    let blocks = 0
    for (const { folder, text } of skillFiles()) {
      const taken = new Set<string>()
      for (const [i, match] of [...text.matchAll(/```ts\n([\s\S]*?)```/g)].entries()) {
        const code = match[1]!
        const named = /^\/\/ ([\w./-]+\.ts)\n/.exec(code)?.[1]
        let file = named ?? `block-${i}.ts`
        if (taken.has(file)) file = file.replace(/\.ts$/, `-${i}.ts`)
        taken.add(file)
        await mkdir(dirname(join(project, folder, file)), { recursive: true })
        await writeFile(join(project, folder, file), code)
        blocks++
        // Imports of tau name the package as published.
        for (const [, specifier] of code.matchAll(/from '([^']+)'/g)) {
          if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue
          expect(
            [pkg.name, 'zod', 'vitest'].some((p) => specifier === p || specifier!.startsWith(`${pkg.name}/`)),
            `${folder}/${file} imports '${specifier}'`,
          ).toBe(true)
        }
      }
    }
    expect(blocks).toBeGreaterThanOrEqual(8)
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          allowImportingTsExtensions: true,
        },
        include: ['**/*.ts'],
      }),
    )
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'blocks', type: 'module', private: true }),
    )
    // TypeScript 7, what a plugin author's `npm install typescript` gets now (typescript-native).
    const tsc = join(REPO, 'node_modules', 'typescript-native', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    )
    expect(result).toBe('')
  })
})

describe('skills plugin: tau’s own skills (source tau)', () => {
  it('finds them from the installed package root, after every other directory', async () => {
    expect(builtinSkillsDir()).toBe(join(REPO, 'skills'))
    const h = await harness({ plugins: [skills] })
    const catalog = h.kernel.resolve(skillCatalogRef)
    expect(catalog.directories().at(-1)).toEqual({ dir: join(REPO, 'skills'), source: 'tau' })
    const index = await catalog.load()
    expect(index.byName.get('tau-plugin-authoring')).toMatchObject({ source: 'tau', status: 'ok' })
    await h.kernel.stop()
  })

  it('does not list them for a coding prompt (no prompt tokens), but for one they rank', async () => {
    const h = await harness({ plugins: [skills], turns: [{ text: 'ok' }, { text: 'ok' }] })
    await h.run(h.session(), 'fix the off-by-one error in src/parse.c')
    await h.run(h.session(), 'write a tau plugin that adds a tool, with its config schema and a test')
    const coding = textOf(h.scripted.requests[0]!.messages[0]!)
    const authoring = textOf(h.scripted.requests[1]!.messages[0]!)
    expect(coding).not.toContain('- tau-')
    expect(coding).not.toContain('# Skills')
    expect(authoring).toContain('- tau-plugin-authoring:')
    expect(authoring).not.toContain('- tau-mcp:')
    await h.kernel.stop()
  })

  it('lists all of them with skills.builtin: true, and none with false (nor loads them)', async () => {
    const on = await harness({
      plugins: [skills],
      turns: [{ text: 'ok' }],
      config: { skills: { builtin: true } },
    })
    await on.run(on.session(), 'hello')
    const system = textOf(on.scripted.requests[0]!.messages[0]!)
    for (const name of USAGE_SKILLS) expect(system).toContain(`- ${name}:`)
    await on.kernel.stop()

    const off = await harness({ plugins: [skills], config: { skills: { builtin: false } } })
    const catalog = off.kernel.resolve(skillCatalogRef)
    expect(catalog.directories().some((d) => d.source === 'tau')).toBe(false)
    expect((await catalog.load()).byName.has('tau-config')).toBe(false)
    await off.kernel.stop()
  })

  it('lets a skill of the user with the same name win over tau’s', async () => {
    const h = await harness({ plugins: [skills] })
    const dir = join(h.kernel.paths.projectDir, '.tau', 'skills', 'tau-config')
    await mkdir(dir, { recursive: true })
    await writeFile(
      join(dir, 'SKILL.md'),
      '---\nname: tau-config\ndescription: our own config rules\n---\nours\n',
    )
    const index = await h.kernel.resolve(skillCatalogRef).load()
    expect(index.byName.get('tau-config')).toMatchObject({ source: 'project' })
    expect(index.all.find((s) => s.source === 'tau' && s.name === 'tau-config')?.problems[0]).toMatchObject({
      rule: 'unique',
    })
    await h.kernel.stop()
  })
})
