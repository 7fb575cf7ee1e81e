/**
 * Agent definitions: the built-in `general-purpose` agent, `subagents.agents` from the config,
 * and Markdown files in `<project>/.tau/agents`, `<project>/.claude/agents`, `<tauHome>/agents`
 * and `~/.claude/agents` (Claude Code's agent-file shape: YAML frontmatter `name`,
 * `description`, `tools`, `model`, `color`; the body is the system prompt added for the child).
 *
 * Security: an agent file is untrusted text. Its frontmatter is parsed as YAML only, through the
 * skills plugin's safe parser: `---js` / `---javascript` (which gray-matter would eval) is refused
 * before gray-matter sees the text, and gray-matter's script engines are replaced by ones that throw.
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { frontmatterLanguage, parseFrontmatter, splitTools } from '../../kernel/index.js'
import { PERMISSION_MODES, type PermissionMode } from '../permissions/index.js'
import { agentEnvironment, type EnvironmentSettings, unknownEnvironment } from './environment.js'
import { aliasedModel, MODEL_ALIASES } from './model-alias.js'

export interface AgentDefinition {
  readonly name: string
  /** When to use the agent: shown to the model in the Task tool's description. */
  readonly description: string
  /** Tool names the child may call; undefined = every tool but Task. */
  readonly tools?: readonly string[]
  /** `provider:model`; undefined or `inherit` = the parent's model. */
  readonly model?: string
  /** Added to the child's system prompt. */
  readonly prompt: string
  /**
   * The permission mode of the agent's hub sessions (orchestrate). A Task child always runs in
   * its parent's mode: a definition never widens what the parent may do.
   */
  readonly permissionMode?: PermissionMode
  /**
   * Its sessions' own settings by plugin config key (`{ sandbox, mcpServers }`), merged over the
   * global config by the kernel: where its tools run, which MCP servers it has. Absent: the global
   * environment. A named environment is resolved at load.
   */
  readonly environment?: EnvironmentSettings
  /** The named environment `environment` came from, if it was one. */
  readonly environmentName?: string
  /** `builtin`, `flag`, `config`, `project`, `user`, `orchestrate`. */
  readonly source: string
  readonly file?: string
}

/** Options of reading agent files. */
export interface AgentFileOptions {
  /** Named environments a file's `environment: NAME` refers to (`subagents.environments`). */
  readonly environments?: Readonly<Record<string, EnvironmentSettings>>
}

export interface DefinitionProblem {
  readonly file: string
  readonly message: string
}

export const GENERAL_PURPOSE: AgentDefinition = {
  name: 'general-purpose',
  description:
    'General-purpose agent for researching complex questions, searching for code and carrying out multi-step tasks on its own.',
  prompt:
    'You are a subagent started by another agent for one task. Work on it on your own with the tools you have; nobody can answer questions. When you are done, answer with a concise, complete report of what you found or did: that report is all the other agent sees.',
  source: 'builtin',
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

/** Parses one agent file. Never throws; a file that cannot be used gives a problem instead. */
export function parseAgentFile(
  text: string,
  file: string,
  source: string,
  options: AgentFileOptions = {},
): { agent?: AgentDefinition; problem?: DefinitionProblem } {
  const refuse = (message: string) => ({ problem: { file, message } })
  const language = frontmatterLanguage(text)
  if (language === undefined) return refuse('an agent file must start with a YAML frontmatter block (---)')
  if (language !== '' && language !== 'yaml' && language !== 'yml') {
    return refuse(`front matter in '${language}' is refused: only YAML is accepted (it is never run)`)
  }
  let data: unknown
  let body: string
  try {
    ;({ data, body } = parseFrontmatter(text))
  } catch (error) {
    return refuse(
      `the frontmatter is not valid: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`,
    )
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return refuse('the frontmatter must be a YAML mapping of fields (name, description, tools, model, ...)')
  }
  const fields = data as Record<string, unknown>
  const name = fields.name ?? basename(file, '.md')
  if (typeof name !== 'string' || !NAME.test(name)) {
    return refuse(
      `field 'name': must be letters, digits, "-" and "_" (at most 64), got ${JSON.stringify(name)}`,
    )
  }
  if (typeof fields.description !== 'string' || fields.description.trim() === '') {
    return refuse("field 'description': required, a text that says when the agent should be used")
  }
  let tools: string[] | undefined
  if (fields.tools !== undefined && fields.tools !== null) {
    if (typeof fields.tools === 'string') tools = splitTools(fields.tools)
    else if (Array.isArray(fields.tools) && fields.tools.every((t) => typeof t === 'string')) {
      tools = fields.tools.map((t) => t.trim()).filter((t) => t !== '')
    } else return refuse("field 'tools': must be a comma-separated string or a list of tool names")
  }
  if (fields.model !== undefined && fields.model !== null && typeof fields.model !== 'string') {
    return refuse("field 'model': must be a string (sonnet, opus, haiku, inherit or provider:model)")
  }
  if (fields.color !== undefined && fields.color !== null && typeof fields.color !== 'string') {
    return refuse("field 'color': must be a string")
  }
  const mode = fields.permissionMode
  if (
    mode !== undefined &&
    mode !== null &&
    (typeof mode !== 'string' || !(PERMISSION_MODES as readonly string[]).includes(mode))
  ) {
    return refuse(
      `field 'permissionMode': must be one of ${PERMISSION_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
    )
  }
  // tau's own key (Claude Code ignores it): where the agent's tools run, its MCP servers.
  let environment: EnvironmentSettings | undefined
  let environmentName: string | undefined
  if (fields.environment !== undefined && fields.environment !== null) {
    const checked = agentEnvironment.safeParse(fields.environment)
    if (!checked.success) {
      const issue = checked.error.issues[0]
      const path = ['environment', ...(issue?.path ?? [])].join('.')
      return refuse(`field '${path}': ${issue?.message ?? 'invalid'}`)
    }
    if (typeof checked.data === 'string') {
      const table = options.environments ?? {}
      const why = unknownEnvironment(checked.data, table, `the agent '${name}'`, 'subagents.environments')
      if (why) return refuse(`field 'environment': ${why}`)
      environmentName = checked.data
      environment = table[checked.data]
    } else environment = checked.data
  }
  const model = typeof fields.model === 'string' ? fields.model : undefined
  return {
    agent: {
      name,
      description: fields.description.trim(),
      ...(tools ? { tools } : {}),
      ...(model ? { model } : {}),
      prompt: body.trim(),
      ...(typeof mode === 'string' ? { permissionMode: mode as PermissionMode } : {}),
      ...(environment ? { environment } : {}),
      ...(environmentName ? { environmentName } : {}),
      source,
      file,
    },
  }
}

/** Reads `*.md` agent files of a directory (missing directory: none). */
export async function readAgentDirectory(
  dir: string,
  source: string,
  options: AgentFileOptions = {},
): Promise<{ agents: AgentDefinition[]; problems: DefinitionProblem[] }> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.md') && !name.startsWith('.')).sort()
  } catch {
    return { agents: [], problems: [] }
  }
  const parsed = await Promise.all(
    names.map(async (name) => {
      const file = join(dir, name)
      try {
        return parseAgentFile(await readFile(file, 'utf8'), file, source, options)
      } catch (error) {
        return { problem: { file, message: error instanceof Error ? error.message : String(error) } }
      }
    }),
  )
  return {
    agents: parsed.flatMap((p) => (p.agent ? [p.agent] : [])),
    problems: parsed.flatMap((p) => (p.problem ? [p.problem] : [])),
  }
}

/** What a child runs on, or why it cannot run. */
export type ChildModel =
  | { readonly ok: true; readonly model: string; readonly note?: string }
  | { readonly ok: false; readonly error: string }

/** The provider registry, as far as choosing a child's model needs it. */
export interface ModelProviders {
  has(name: string): boolean
  isConfigured(name: string): boolean
  list(): ReadonlyArray<{ readonly name: string }>
}

export interface ChildModelOptions {
  /** `headless.modelAliases`. */
  readonly aliases: Readonly<Record<string, string>>
  readonly env: NodeJS.ProcessEnv
  readonly providers?: ModelProviders
}

/**
 * The child's model: the Task call's `model`, else the definition's, else the parent's
 * (`inherit` or nothing). An alias maps through the one alias table (config, Claude Code's env
 * variables, built-in); a built-in alias whose provider is not set up (no key: tau runs on
 * another provider) means the parent's model, with a note, so a Claude Code agent file with
 * `model: sonnet` still runs. Anything else that names no loaded provider is an error.
 */
export function childModel(
  definition: AgentDefinition,
  parentModel: string,
  requested?: string,
  options: ChildModelOptions = { aliases: {}, env: {} },
): ChildModel {
  const wanted = (requested ?? definition.model)?.trim()
  if (wanted === undefined || wanted === '' || wanted.toLowerCase() === 'inherit') {
    return { ok: true, model: parentModel }
  }
  const where =
    requested !== undefined
      ? `the Task call's model '${wanted}'`
      : `the model '${wanted}' of agent '${definition.name}'`
  const lower = wanted.toLowerCase()
  const aliased = aliasedModel(
    Object.hasOwn(MODEL_ALIASES, lower) ? lower : wanted,
    options.aliases,
    options.env,
  )
  const { providers } = options
  const provider = aliased.ref.includes(':') ? aliased.ref.slice(0, aliased.ref.indexOf(':')) : ''
  const loaded = () =>
    providers
      ?.list()
      .map((p) => p.name)
      .join(', ') ?? ''
  if (provider === '') {
    return {
      ok: false,
      error: `${where} is not a model: give sonnet, opus, haiku, inherit, an alias of headless.modelAliases, or provider:model (providers: ${loaded()})`,
    }
  }
  if (
    aliased.from === 'builtin' &&
    providers &&
    !(providers.has(provider) && providers.isConfigured(provider))
  ) {
    return {
      ok: true,
      model: parentModel,
      note: `${where} stands for ${aliased.ref}, whose provider is not set up: running on ${parentModel} (map the alias in headless.modelAliases)`,
    }
  }
  if (providers && !providers.has(provider)) {
    return {
      ok: false,
      error: `${where} names provider '${provider}', which is not loaded (providers: ${loaded()})`,
    }
  }
  return { ok: true, model: aliased.ref }
}
