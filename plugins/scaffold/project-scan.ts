/**
 * A quick look at a project without a model: its name and description, the package manager and
 * the commands it builds, tests and lints with, and its top-level layout. What `tau init` writes
 * its permission rules and TAU.md from.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'

export type Ecosystem = 'node' | 'python' | 'go' | 'rust'

export interface ProjectCommand {
  /** What it is for: `test`, `lint`, `build`, `typecheck`, `format`, `install`. */
  readonly purpose: string
  /** The command line, e.g. `pnpm test` or `uv run pytest`. */
  readonly command: string
  /** The permission rule that allows it, e.g. `Bash(pnpm test:*)`. */
  readonly rule: string
}

export interface ProjectScan {
  readonly dir: string
  readonly name: string
  readonly description: string | undefined
  readonly ecosystems: readonly Ecosystem[]
  /** `npm`, `pnpm`, `yarn`, `bun`, `uv`, `poetry`, `pip`, `go`, `cargo`. */
  readonly packageManagers: readonly string[]
  readonly commands: readonly ProjectCommand[]
  /** Top-level directories, without hidden, dependency and build-output ones. */
  readonly directories: readonly string[]
  readonly hasGit: boolean
}

const IGNORED_DIRS = new Set([
  'node_modules',
  'dist',
  'build',
  'out',
  'coverage',
  'target',
  'venv',
  '__pycache__',
  'vendor',
])

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  const text = readText(file)
  if (text === undefined) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** `key = "value"` in a TOML section (enough for a project's name and description). */
function tomlString(text: string, section: string, key: string): string | undefined {
  const start = text.search(new RegExp(`^\\[${section.replace('.', '\\.')}\\]\\s*$`, 'm'))
  if (start < 0) return undefined
  const body = text.slice(start).split('\n').slice(1)
  for (const line of body) {
    if (/^\s*\[/.test(line)) break
    const m = new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`).exec(line)
    if (m) return m[1]
  }
  return undefined
}

function nodeCommands(
  dir: string,
  pkg: Record<string, unknown>,
): { manager: string; commands: ProjectCommand[] } {
  const manager = existsSync(join(dir, 'pnpm-lock.yaml'))
    ? 'pnpm'
    : existsSync(join(dir, 'yarn.lock'))
      ? 'yarn'
      : existsSync(join(dir, 'bun.lockb')) || existsSync(join(dir, 'bun.lock'))
        ? 'bun'
        : 'npm'
  const scripts =
    pkg.scripts && typeof pkg.scripts === 'object' ? Object.keys(pkg.scripts as Record<string, unknown>) : []
  const commands: ProjectCommand[] = []
  const install = manager === 'npm' ? 'npm ci' : `${manager} install`
  commands.push({ purpose: 'install', command: install, rule: `Bash(${install})` })
  const purposes: Record<string, string> = {
    test: 'test',
    lint: 'lint',
    build: 'build',
    typecheck: 'typecheck',
    check: 'check',
    format: 'format',
  }
  for (const script of scripts) {
    const purpose = purposes[script]
    if (!purpose) continue
    // `npm test` is npm's own verb; other scripts need `run`. pnpm, yarn and bun take both.
    const command = manager === 'npm' && script !== 'test' ? `npm run ${script}` : `${manager} ${script}`
    commands.push({ purpose, command, rule: `Bash(${command}:*)` })
    if (manager !== 'npm') {
      const viaRun = `${manager} run ${script}`
      commands.push({ purpose, command: viaRun, rule: `Bash(${viaRun}:*)` })
    }
  }
  return { manager, commands }
}

function pythonCommands(
  dir: string,
  pyproject: string | undefined,
): { manager: string; commands: ProjectCommand[] } {
  const manager = existsSync(join(dir, 'uv.lock'))
    ? 'uv'
    : existsSync(join(dir, 'poetry.lock'))
      ? 'poetry'
      : 'pip'
  const prefix = manager === 'uv' ? 'uv run ' : manager === 'poetry' ? 'poetry run ' : ''
  const commands: ProjectCommand[] = []
  const install =
    manager === 'uv'
      ? 'uv sync'
      : manager === 'poetry'
        ? 'poetry install'
        : existsSync(join(dir, 'requirements.txt'))
          ? 'pip install -r requirements.txt'
          : 'pip install -e .'
  commands.push({ purpose: 'install', command: install, rule: `Bash(${install})` })
  commands.push({ purpose: 'test', command: `${prefix}pytest`, rule: `Bash(${prefix}pytest:*)` })
  commands.push({
    purpose: 'test',
    command: `${prefix}python -m pytest`,
    rule: `Bash(${prefix}python -m pytest:*)`,
  })
  const text = pyproject ?? ''
  if (/^\[tool\.ruff/m.test(text) || existsSync(join(dir, 'ruff.toml'))) {
    commands.push({ purpose: 'lint', command: `${prefix}ruff check`, rule: `Bash(${prefix}ruff check:*)` })
    commands.push({
      purpose: 'format',
      command: `${prefix}ruff format`,
      rule: `Bash(${prefix}ruff format:*)`,
    })
  }
  if (/^\[tool\.mypy/m.test(text))
    commands.push({ purpose: 'typecheck', command: `${prefix}mypy`, rule: `Bash(${prefix}mypy:*)` })
  return { manager, commands }
}

/** Scans `dir` (reads a handful of files; never runs anything). */
export function scanProject(dir: string): ProjectScan {
  const ecosystems: Ecosystem[] = []
  const managers: string[] = []
  const commands: ProjectCommand[] = []
  let name: string | undefined
  let description: string | undefined

  const pkg = readJson(join(dir, 'package.json'))
  if (pkg) {
    ecosystems.push('node')
    if (typeof pkg.name === 'string') name = pkg.name
    if (typeof pkg.description === 'string' && pkg.description) description = pkg.description
    const node = nodeCommands(dir, pkg)
    managers.push(node.manager)
    commands.push(...node.commands)
  }
  const pyproject = readText(join(dir, 'pyproject.toml'))
  if (
    pyproject !== undefined ||
    existsSync(join(dir, 'requirements.txt')) ||
    existsSync(join(dir, 'setup.py'))
  ) {
    ecosystems.push('python')
    name ??=
      pyproject && (tomlString(pyproject, 'project', 'name') ?? tomlString(pyproject, 'tool.poetry', 'name'))
    description ??=
      pyproject &&
      (tomlString(pyproject, 'project', 'description') ?? tomlString(pyproject, 'tool.poetry', 'description'))
    const python = pythonCommands(dir, pyproject)
    managers.push(python.manager)
    commands.push(...python.commands)
  }
  if (existsSync(join(dir, 'go.mod'))) {
    ecosystems.push('go')
    managers.push('go')
    for (const verb of ['test', 'build', 'vet'])
      commands.push({
        purpose: verb === 'vet' ? 'lint' : verb,
        command: `go ${verb}`,
        rule: `Bash(go ${verb}:*)`,
      })
  }
  const cargo = readText(join(dir, 'Cargo.toml'))
  if (cargo !== undefined) {
    ecosystems.push('rust')
    managers.push('cargo')
    name ??= tomlString(cargo, 'package', 'name')
    for (const verb of ['test', 'build', 'check', 'clippy'])
      commands.push({
        purpose: verb === 'clippy' ? 'lint' : verb,
        command: `cargo ${verb}`,
        rule: `Bash(cargo ${verb}:*)`,
      })
  }
  const makefile = readText(join(dir, 'Makefile'))
  if (makefile !== undefined) {
    for (const target of ['test', 'lint', 'build', 'check'])
      if (new RegExp(`^${target}\\s*:`, 'm').test(makefile))
        commands.push({ purpose: target, command: `make ${target}`, rule: `Bash(make ${target}:*)` })
  }

  let directories: string[] = []
  try {
    directories = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !IGNORED_DIRS.has(e.name))
      .map((e) => e.name)
      .sort()
  } catch {
    // an unreadable directory has no layout to describe
  }
  return {
    dir,
    name: name || basename(dir),
    description,
    ecosystems,
    packageManagers: managers,
    commands,
    directories,
    hasGit: existsSync(join(dir, '.git')),
  }
}
