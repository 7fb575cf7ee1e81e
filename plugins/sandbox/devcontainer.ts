/**
 * The part of devcontainer.json (containers.dev) a tau container environment takes: `image` or
 * `build` (a Dockerfile in the workspace, built by docker or podman), `workspaceFolder`, `mounts`
 * (binds), `containerEnv` and `remoteEnv`, `remoteUser` / `containerUser`, `postCreateCommand`.
 * What would make a different container than the file describes (`build.options`,
 * `dockerComposeFile`, `features`, `runArgs`, privileges) is refused, not
 * dropped; commands tau never runs (`initializeCommand` would run on the host) are noted. Only
 * the workspace variables are substituted: `${localEnv:...}` would copy host variables, which
 * may be credentials, into the container, so it is refused.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { TauError } from '../../kernel/index.js'
import type { ContainerMount, ImageBuild } from './container.js'
import type { Command } from './environment.js'
import { SANDBOX_ERRORS } from './errors.js'
import { insideRoots, realPathSyncOf } from './workspace-paths.js'

export interface Devcontainer {
  /** The file, absolute. */
  readonly file: string
  readonly image?: string
  /** `build` (or the older `dockerFile` and `context`): the image to build. */
  readonly build?: ImageBuild
  readonly workspaceFolder?: string
  readonly mounts: readonly ContainerMount[]
  /** containerEnv, then remoteEnv over it: both reach every process tau starts in the container. */
  readonly containerEnv: Readonly<Record<string, string>>
  /** remoteUser, else containerUser. */
  readonly user?: string
  /** In order; an object's commands one after the other (the spec runs them in parallel). */
  readonly postCreateCommand: readonly Command[]
  /** Fields read but not acted on, for one log line each. */
  readonly notes: readonly string[]
}

/** The devcontainer.json a project has: `.devcontainer/devcontainer.json`, else `.devcontainer.json`. */
export function findDevcontainer(projectDir: string): string | undefined {
  return [
    join(projectDir, '.devcontainer', 'devcontainer.json'),
    join(projectDir, '.devcontainer.json'),
  ].find((file) => existsSync(file))
}

/** Refused: they change what the container is, and tau cannot do them (or check them). */
const REFUSED: Record<string, string> = {
  dockerComposeFile: 'tau runs one container, not a compose project: name the service\'s image in "image"',
  features: 'tau does not install features: use an image that has them',
  runArgs:
    'engine flags cannot be checked against the sandbox policy (--privileged, -v, --network): use "mounts" and "containerEnv", or sandbox.container in tau\'s config',
  privileged: 'a privileged container is no sandbox',
  capAdd: 'added capabilities widen the sandbox',
  securityOpt: 'security options can switch the confinement off',
}

/** Read and left alone: tau does not run or use them (a note each, when set). */
const NOT_RUN: Record<string, string> = {
  initializeCommand: 'not run: it would run on the host',
  onCreateCommand: 'not run (tau runs postCreateCommand only)',
  updateContentCommand: 'not run (tau runs postCreateCommand only)',
  postStartCommand: 'not run (tau runs postCreateCommand only)',
  postAttachCommand: 'not run (tau runs postCreateCommand only)',
  workspaceMount: 'not used: tau mounts the workspace at its own path',
  forwardPorts: 'not used: the container has no network of its own to forward',
  appPort: 'not used: the container has no network of its own to forward',
}

/** Harmless for tau: editor settings, port labels, lifecycle of an engine's own tooling. */
const IGNORED = new Set([
  '$schema',
  'name',
  'customizations',
  'portsAttributes',
  'otherPortsAttributes',
  'shutdownAction',
  'overrideCommand',
  'updateRemoteUserUID',
  'userEnvProbe',
  'hostRequirements',
  'waitFor',
  'init',
])

export interface DevcontainerContext {
  /** The workspace folder on the host (the project directory); the container sees it at the same path. */
  readonly workspace: string
  /** For messages: paths relative to it. */
  readonly projectDir: string
}

export function readDevcontainer(file: string, context: DevcontainerContext): Devcontainer {
  const shown = relative(context.projectDir, file) || file
  const fail = (field: string, what: string): never => {
    throw new TauError(SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER, `${shown}: ${field}: ${what}`, {
      plugin: 'sandbox',
    })
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    return fail('(file)', `cannot be read: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(stripJsonc(text))
  } catch (error) {
    return fail('(file)', `is not JSON with comments: ${(error as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    fail('(file)', 'expected an object')
  const json = parsed as Record<string, unknown>
  const vars: Record<string, string> = {
    localWorkspaceFolder: context.workspace,
    localWorkspaceFolderBasename: basename(context.workspace),
    containerWorkspaceFolder: context.workspace,
    containerWorkspaceFolderBasename: basename(context.workspace),
  }
  const substitute = (field: string, value: string): string =>
    value.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
      if (Object.hasOwn(vars, name)) return vars[name] as string
      return fail(
        field,
        `${whole}: tau substitutes only \${localWorkspaceFolder}, \${containerWorkspaceFolder} and their Basename forms; it does not copy host variables into the container (they may be credentials): write the value, or let a variable through with sandbox.env.allow`,
      )
    })
  const string = (field: string): string | undefined => {
    const value = json[field]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value === '') return fail(field, 'expected a non-empty string')
    return substitute(field, value)
  }
  const env = (field: string): Record<string, string> => {
    const value = json[field]
    if (value === undefined) return {}
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return fail(field, 'expected an object of variable names to strings')
    const out: Record<string, string> = {}
    for (const [name, v] of Object.entries(value)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`${field}.${name}`, 'not a variable name')
      if (v === null) continue // the spec's way to unset one
      if (typeof v !== 'string') fail(`${field}.${name}`, 'expected a string')
      out[name] = substitute(`${field}.${name}`, v as string)
    }
    return out
  }
  const notes: string[] = []
  for (const [key, value] of Object.entries(json)) {
    if (value === undefined || value === null) continue
    const refused = REFUSED[key]
    if (refused) {
      const empty = (Array.isArray(value) && value.length === 0) || value === false
      const emptyObject =
        typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0
      if (!empty && !emptyObject) fail(key, `not supported: ${refused}`)
      continue
    }
    const noted = NOT_RUN[key]
    if (noted) notes.push(`${shown}: ${key}: ${noted}`)
    else if (
      !IGNORED.has(key) &&
      ![
        'image',
        'build',
        'dockerFile',
        'context',
        'workspaceFolder',
        'mounts',
        'containerEnv',
        'remoteEnv',
        'remoteUser',
        'containerUser',
        'postCreateCommand',
      ].includes(key)
    )
      notes.push(`${shown}: ${key}: not a field tau reads; ignored`)
  }
  const mounts: ContainerMount[] = []
  const rawMounts = json.mounts ?? []
  if (!Array.isArray(rawMounts)) fail('mounts', 'expected an array')
  ;(rawMounts as unknown[]).forEach((entry, i) => {
    mounts.push(parseMount(`mounts[${i}]`, entry, fail, substitute))
  })
  const image = string('image')
  const build = parseBuild(json, { file, shown, workspace: context.workspace, fail, substitute, notes })
  if (image && build)
    fail('build', 'set "image" or "build", not both: the container is made from one of them')
  const workspaceFolder = string('workspaceFolder')
  const user = string('remoteUser') ?? string('containerUser')
  return {
    file,
    ...(image ? { image } : {}),
    ...(build ? { build } : {}),
    ...(workspaceFolder ? { workspaceFolder } : {}),
    mounts,
    containerEnv: { ...env('containerEnv'), ...env('remoteEnv') },
    ...(user ? { user } : {}),
    postCreateCommand: commands('postCreateCommand', json.postCreateCommand, fail),
    notes,
  }
}

interface BuildContext {
  readonly file: string
  /** The file as messages show it. */
  readonly shown: string
  readonly workspace: string
  readonly fail: (field: string, what: string) => never
  readonly substitute: (field: string, value: string) => string
  readonly notes: string[]
}

/**
 * `build: { dockerfile, context, args, target }`, or the older top-level `dockerFile` and
 * `context`. Paths are relative to the devcontainer.json, as the spec has them, and must stay in
 * the workspace: the engine reads them (a context outside would send the host's files into it).
 * `build.options` are engine flags the policy cannot check, so they are refused like `runArgs`.
 */
function parseBuild(json: Record<string, unknown>, c: BuildContext): ImageBuild | undefined {
  const { fail } = c
  const legacy = json.dockerFile
  const raw = json.build
  if (raw === undefined || raw === null) {
    if (legacy === undefined || legacy === null) return undefined
    if (typeof legacy !== 'string' || legacy === '')
      return fail('dockerFile', 'expected a path to a Dockerfile')
    const context = json.context
    if (context !== undefined && (typeof context !== 'string' || context === ''))
      fail('context', 'expected a directory path')
    return resolveBuild(
      c,
      { dockerfile: ['dockerFile', legacy], context: ['context', context as string | undefined] },
      {},
      undefined,
    )
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    return fail('build', 'expected an object: { "dockerfile": "Dockerfile" }')
  const b = raw as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (key === 'options')
      fail('build.options', 'not supported: engine flags cannot be checked against the sandbox policy')
    else if (key === 'cacheFrom') c.notes.push(`${c.shown}: build.cacheFrom: not used`)
    else if (!['dockerfile', 'context', 'args', 'target'].includes(key))
      c.notes.push(`${c.shown}: build.${key}: not a field tau reads; ignored`)
  }
  if (typeof b.dockerfile !== 'string' || b.dockerfile === '')
    return fail('build.dockerfile', 'expected the path of a Dockerfile, relative to this file')
  if (b.context !== undefined && (typeof b.context !== 'string' || b.context === ''))
    fail('build.context', 'expected a directory path, relative to this file')
  const args: Record<string, string> = {}
  if (b.args !== undefined) {
    if (typeof b.args !== 'object' || b.args === null || Array.isArray(b.args))
      fail('build.args', 'expected an object of build argument names to strings')
    for (const [name, value] of Object.entries(b.args as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`build.args.${name}`, 'not a build argument name')
      if (typeof value !== 'string') fail(`build.args.${name}`, 'expected a string')
      args[name] = c.substitute(`build.args.${name}`, value as string)
    }
  }
  if (
    b.target !== undefined &&
    (typeof b.target !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(b.target))
  )
    fail('build.target', 'expected the name of a stage of the Dockerfile')
  return resolveBuild(
    c,
    {
      dockerfile: ['build.dockerfile', b.dockerfile],
      context: ['build.context', b.context as string | undefined],
    },
    args,
    b.target as string | undefined,
  )
}

/** A build's paths resolved against the file's directory and held inside the workspace. */
function resolveBuild(
  c: BuildContext,
  paths: { dockerfile: [string, string]; context: [string, string | undefined] },
  args: Record<string, string>,
  target: string | undefined,
): ImageBuild {
  const here = dirname(c.file)
  const workspace = realPathSyncOf(c.workspace)
  const inside = (field: string, path: string, kind: 'file' | 'directory'): string => {
    const absolute = resolve(here, c.substitute(field, path))
    if (!existsSync(absolute)) return c.fail(field, `'${path}' does not exist (${absolute})`)
    const real = realPathSyncOf(absolute)
    if (!insideRoots(real, [workspace]))
      c.fail(
        field,
        `'${path}' is outside the workspace (${real}): the engine would read host files the sandbox does not show`,
      )
    if ((kind === 'directory') !== statSync(real).isDirectory()) c.fail(field, `'${path}' is not a ${kind}`)
    return real
  }
  const dockerfile = inside(paths.dockerfile[0], paths.dockerfile[1], 'file')
  const context = inside(paths.context[0], paths.context[1] ?? '.', 'directory')
  return { dockerfile, context, args, ...(target ? { target } : {}), source: c.shown }
}

function commands(field: string, value: unknown, fail: (field: string, what: string) => never): Command[] {
  if (value === undefined || value === null) return []
  const one = (path: string, v: unknown): Command => {
    if (typeof v === 'string' && v.trim() !== '') return v
    if (Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string'))
      return v as unknown as readonly [string, ...string[]]
    return fail(path, 'expected a command: a string (run by /bin/sh) or an array of strings (no shell)')
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).map(([name, v]) => one(`${field}.${name}`, v))
  }
  return [one(field, value)]
}

function parseMount(
  field: string,
  entry: unknown,
  fail: (field: string, what: string) => never,
  substitute: (field: string, value: string) => string,
): ContainerMount {
  let parts: Record<string, string | true>
  if (typeof entry === 'string') {
    parts = {}
    for (const piece of entry.split(',')) {
      const at = piece.indexOf('=')
      const key = (at < 0 ? piece : piece.slice(0, at)).trim().toLowerCase()
      if (key) parts[key] = at < 0 ? true : piece.slice(at + 1).trim()
    }
  } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    parts = {}
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'string') parts[key.toLowerCase()] = value
      else if (value === true) parts[key.toLowerCase()] = true
    }
  } else {
    return fail(field, 'expected "source=...,target=...,type=bind" or { source, target, type }')
  }
  const type = parts.type ?? 'bind'
  if (type !== 'bind')
    fail(
      field,
      `type '${String(type)}' is not supported: tau mounts host directories only (type=bind); a volume lives in an engine tau does not manage`,
    )
  const source = parts.source ?? parts.src
  const target = parts.target ?? parts.destination ?? parts.dst
  if (typeof source !== 'string' || source === '') return fail(field, 'needs a source (a host path)')
  if (typeof target !== 'string' || !target.startsWith('/'))
    return fail(field, 'needs a target (an absolute path inside the container)')
  const ro = parts.readonly ?? parts.ro
  return {
    source: substitute(`${field}.source`, source),
    target: substitute(`${field}.target`, target),
    readonly: ro === true || ro === 'true' || ro === '1',
  }
}

/** JSON with comments (// and /* *\/) and trailing commas, as devcontainer.json is written, to JSON. */
export function stripJsonc(text: string): string {
  return dropTrailingCommas(dropComments(text))
}

/** Each string, from its quote to its closing quote (escapes skipped); `i` at the opening quote. */
function stringEnd(text: string, i: number): number {
  let j = i + 1
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
  return j + 1
}

function dropComments(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === '"') {
      const end = stringEnd(text, i)
      out += text.slice(i, end)
      i = end
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      // Keep line breaks, so JSON.parse's positions still point at the right line.
      const comment = text.slice(i, end < 0 ? text.length : end + 2)
      out += comment.replace(/[^\n]/g, ' ')
      i += comment.length
    } else {
      out += c
      i++
    }
  }
  return out
}

function dropTrailingCommas(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === '"') {
      const end = stringEnd(text, i)
      out += text.slice(i, end)
      i = end
      continue
    }
    if (c === ',') {
      let j = i + 1
      while (j < text.length && /\s/.test(text[j] as string)) j++
      if (text[j] === '}' || text[j] === ']') {
        out += ' '
        i++
        continue
      }
    }
    out += c
    i++
  }
  return out
}
