/** The arguments of `tau start` for a headless run, in the spelling of `claude -p`. */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { PermissionMode } from '../permissions/index.js'

export type OutputFormat = 'text' | 'json' | 'stream-json'

export interface HeadlessArgs {
  /** -p / --print was given: run once and print, never interactive. */
  readonly print: boolean
  /** The prompt given on the command line (the words after the options), if any. */
  readonly prompt: string | undefined
  readonly outputFormat: OutputFormat
  readonly model?: string
  readonly permissionMode?: PermissionMode
  readonly allowedTools: readonly string[]
  readonly disallowedTools: readonly string[]
  readonly maxTurns?: number
  readonly cwd?: string
  readonly verbose: boolean
  /** --continue: go on with the latest stored session of the project. */
  readonly continue?: boolean
  /** --resume ID: go on with this stored session. */
  readonly resume?: string
  /** --fork-session: with --continue or --resume, go on in a copy under a new id. */
  readonly forkSession?: boolean
  /** --system-prompt TEXT (or the contents of --system-prompt-file): replaces tau's system prompt. */
  readonly systemPrompt?: string
  /** --append-system-prompt TEXT / --append-system-prompt-file FILE: added to tau's system prompt. */
  readonly appendSystemPrompt?: string
  /** --input-format: `stream-json` reads many user turns as JSON lines on stdin. */
  readonly inputFormat?: 'text' | 'stream-json'
  /** --replay-user-messages: with stream-json in and out, each user line read is echoed. */
  readonly replayUserMessages?: boolean
  /** --include-partial-messages: stream_event lines with the text as it streams. */
  readonly includePartialMessages?: boolean
  /** --add-dir: more workspace directories. */
  readonly addDirs?: readonly string[]
  /** --tools: the built-in tools offered ('default' or undefined: all; '': none). */
  readonly tools?: readonly string[]
  /** --session-id UUID. */
  readonly sessionId?: string
  /** --json-schema: the JSON Schema the final answer must match. */
  readonly jsonSchema?: Record<string, unknown>
  /** --max-budget-usd. */
  readonly maxBudgetUsd?: number
  /** --disable-slash-commands: a prompt starting with / goes to the model as typed. */
  readonly disableSlashCommands?: boolean
  /** --fallback-model: the model that answers when the session's model is overloaded or failing. */
  readonly fallbackModel?: string
  /** --permission-prompt-tool: the MCP tool (`mcp__server__tool`) asked for each permission ask. */
  readonly permissionPromptTool?: string
}

export type ParseResult = { ok: true; value: HeadlessArgs } | { ok: false; error: string }

export const USAGE = `usage: tau start -p [options] "PROMPT"     (or the prompt on stdin)
  -p, --print                  run the prompt once, print the result, exit
  --output-format FORMAT       text (default) | json | stream-json
  --model REF                  provider:model (ollama:qwen3:8b), or sonnet | opus | haiku
  --permission-mode MODE       default | acceptEdits | plan | bypassPermissions | dontAsk
  --allowed-tools RULES        permission rules to allow, e.g. "Bash(npm test:*) Read"
  --disallowed-tools RULES     permission rules to deny; bare tool names are hidden from the model
  --max-turns N                stop after N model calls
  --cwd DIR                    run in this directory
  --verbose                    show tool calls on stderr
  -c, --continue               continue the latest session of this project
  -r, --resume ID              resume the session ID (see tau sessions)
  --fork-session               with --continue or --resume: go on in a copy under a new id
  --session-id UUID            use this id for the new session
  --system-prompt TEXT         replace the system prompt (--system-prompt-file FILE: from a file)
  --append-system-prompt TEXT  add to the system prompt (--append-system-prompt-file FILE)
  --input-format FORMAT        text (default) | stream-json (user turns as JSON lines on stdin)
  --replay-user-messages       with stream-json in and out: echo each user line read
  --include-partial-messages   stream-json: stream_event lines as the text streams
  --add-dir DIR                one more workspace directory (repeatable)
  --tools LIST                 the built-in tools offered: "default", "" (none) or "Bash,Read,..."
  --dangerously-skip-permissions   the same as --permission-mode bypassPermissions
  --json-schema SCHEMA         the final answer is JSON matching this JSON Schema (retried once)
  --max-budget-usd N           stop when the run has cost this much
  --disable-slash-commands     send a prompt that starts with / as typed
  --mcp-config FILE|JSON       more MCP servers ({"mcpServers": {...}}; repeatable)
  --strict-mcp-config          only the servers of --mcp-config
  --settings FILE|JSON         one more settings layer (permissions, hooks), above every file
  --setting-sources LIST       the settings scopes read: user,project,local (default: all)
  --trust                      trust this workspace for this run (project MCP servers, rules, hooks)
  --fallback-model REF         answer with this model when the model is overloaded or failing
  --agents JSON                more subagent definitions: {"name": {"description": ..., "prompt": ...}}
  --permission-prompt-tool T   the MCP tool (mcp__server__tool) that answers permission asks
  --no-session-persistence     write no transcript (the session cannot be resumed)
  --name NAME                  the session's name (tau sessions; --resume NAME)`

const FORMATS: readonly OutputFormat[] = ['text', 'json', 'stream-json']
const MODES: readonly PermissionMode[] = ['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk']

export const OPTIONS = {
  print: { type: 'boolean', short: 'p' },
  'output-format': { type: 'string' },
  outputFormat: { type: 'string' },
  model: { type: 'string' },
  'permission-mode': { type: 'string' },
  permissionMode: { type: 'string' },
  'allowed-tools': { type: 'string', multiple: true },
  allowedTools: { type: 'string', multiple: true },
  'disallowed-tools': { type: 'string', multiple: true },
  disallowedTools: { type: 'string', multiple: true },
  'max-turns': { type: 'string' },
  maxTurns: { type: 'string' },
  cwd: { type: 'string' },
  verbose: { type: 'boolean' },
  continue: { type: 'boolean', short: 'c' },
  resume: { type: 'string', short: 'r' },
  'fork-session': { type: 'boolean' },
  forkSession: { type: 'boolean' },
  // Read at setup by the plugins they belong to (permissions, command-hooks, trust); accepted here.
  settings: { type: 'string' },
  'setting-sources': { type: 'string' },
  trust: { type: 'boolean' },
  'mcp-config': { type: 'string', multiple: true },
  'strict-mcp-config': { type: 'boolean' },
  'session-id': { type: 'string' },
  'system-prompt': { type: 'string' },
  'system-prompt-file': { type: 'string' },
  'append-system-prompt': { type: 'string' },
  'append-system-prompt-file': { type: 'string' },
  'input-format': { type: 'string' },
  'replay-user-messages': { type: 'boolean' },
  'include-partial-messages': { type: 'boolean' },
  'add-dir': { type: 'string', multiple: true },
  tools: { type: 'string' },
  'dangerously-skip-permissions': { type: 'boolean' },
  'json-schema': { type: 'string' },
  'max-budget-usd': { type: 'string' },
  'disable-slash-commands': { type: 'boolean' },
  'fallback-model': { type: 'string' },
  'permission-prompt-tool': { type: 'string' },
  // Read at setup by the plugins they belong to (subagents, session); accepted here.
  agents: { type: 'string' },
  'no-session-persistence': { type: 'boolean' },
  name: { type: 'string' },
} as const

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function readText(file: string, flag: string): string | { error: string } {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    return {
      error: `${flag} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    }
  }
}

type Extra = Omit<
  HeadlessArgs,
  'print' | 'prompt' | 'outputFormat' | 'allowedTools' | 'disallowedTools' | 'verbose'
>

/** The flags of Claude Code's `-p` beyond the first set: checked here, with what each needs. */
function claudeFlags(
  values: ReturnType<typeof parse>['values'],
  format: OutputFormat,
): Extra | { error: string } {
  // Only what was given, so the arguments of a plain run stay as they were.
  const out: { -readonly [K in keyof Extra]?: Extra[K] } = {}
  if (values['replay-user-messages'] === true) out.replayUserMessages = true
  if (values['include-partial-messages'] === true) out.includePartialMessages = true
  if (values['add-dir'] !== undefined) out.addDirs = values['add-dir']
  if (values['disable-slash-commands'] === true) out.disableSlashCommands = true
  const input = values['input-format']
  if (input !== undefined) {
    if (input !== 'text' && input !== 'stream-json') {
      return { error: `--input-format must be one of text, stream-json, not '${input}'` }
    }
    if (input === 'stream-json' && format !== 'stream-json') {
      return { error: '--input-format stream-json needs --output-format stream-json' }
    }
    out.inputFormat = input
  }
  if (out.replayUserMessages && out.inputFormat !== 'stream-json') {
    return {
      error: '--replay-user-messages needs --input-format stream-json and --output-format stream-json',
    }
  }
  if (out.includePartialMessages && format !== 'stream-json') {
    return { error: '--include-partial-messages needs --output-format stream-json' }
  }
  const id = values['session-id']
  if (id !== undefined) {
    if (!UUID.test(id)) return { error: `--session-id must be a UUID, not '${id}'` }
    out.sessionId = id
  }
  for (const [flag, fileFlag, key] of [
    ['system-prompt', 'system-prompt-file', 'systemPrompt'],
    ['append-system-prompt', 'append-system-prompt-file', 'appendSystemPrompt'],
  ] as const) {
    const text = values[flag]
    const file = values[fileFlag]
    if (text !== undefined && file !== undefined)
      return { error: `--${flag} and --${fileFlag} cannot be used together` }
    if (text !== undefined) out[key] = text
    if (file !== undefined) {
      const read = readText(file, `--${fileFlag}`)
      if (typeof read !== 'string') return read
      out[key] = read
    }
  }
  const tools = values.tools
  if (tools !== undefined && tools.trim() !== 'default') out.tools = splitRules([tools])
  const schema = values['json-schema']
  if (schema !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(schema)
    } catch (error) {
      return { error: `--json-schema is not valid JSON: ${(error as Error).message}` }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return {
        error: '--json-schema must be a JSON Schema object, e.g. {"type":"object","properties":{...}}',
      }
    }
    out.jsonSchema = parsed as Record<string, unknown>
  }
  const fallback = values['fallback-model']
  if (fallback !== undefined) {
    if (fallback.trim() === '')
      return { error: '--fallback-model needs a model, e.g. haiku or anthropic:claude-haiku-4-5' }
    if (fallback === values.model)
      return { error: `--fallback-model must differ from --model (both are '${fallback}')` }
    out.fallbackModel = fallback
  }
  const promptTool = values['permission-prompt-tool']
  if (promptTool !== undefined) {
    if (!/^mcp__[^_].*__.+/.test(promptTool))
      return {
        error: `--permission-prompt-tool names an MCP tool as mcp__SERVER__TOOL, not '${promptTool}'`,
      }
    out.permissionPromptTool = promptTool
  }
  if (values.name !== undefined && values.name.trim() === '') return { error: '--name needs a name' }
  const budget = values['max-budget-usd']
  if (budget !== undefined) {
    const usd = Number(budget)
    if (!Number.isFinite(usd) || usd <= 0)
      return { error: `--max-budget-usd must be a positive number, not '${budget}'` }
    out.maxBudgetUsd = usd
  }
  return out as Extra
}

/**
 * Splits rule lists on commas and whitespace, except inside parentheses, so
 * `"Bash(npm test:*), Read"` is two rules.
 */
export function splitRules(values: readonly string[]): string[] {
  const rules: string[] = []
  for (const value of values) {
    let depth = 0
    let current = ''
    for (const char of value) {
      if (char === '(') depth++
      else if (char === ')') depth = Math.max(0, depth - 1)
      if (depth === 0 && (char === ',' || /\s/.test(char))) {
        if (current !== '') rules.push(current)
        current = ''
      } else current += char
    }
    if (current !== '') rules.push(current)
  }
  return rules
}

export function parseHeadlessArgs(argv: readonly string[]): ParseResult {
  // `--print=PROMPT` is read as `--print PROMPT`.
  const args = argv.flatMap((arg) => (arg.startsWith('--print=') ? ['--print', arg.slice(8)] : [arg]))
  let values: ReturnType<typeof parse>['values']
  let positionals: string[]
  try {
    ;({ values, positionals } = parse(args))
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) }
  }
  const format = values['output-format'] ?? values.outputFormat ?? 'text'
  if (!FORMATS.includes(format as OutputFormat)) {
    return { ok: false, error: `--output-format must be one of ${FORMATS.join(', ')}, not '${format}'` }
  }
  const mode =
    values['permission-mode'] ??
    values.permissionMode ??
    (values['dangerously-skip-permissions'] === true ? 'bypassPermissions' : undefined)
  if (mode !== undefined && !MODES.includes(mode as PermissionMode)) {
    return { ok: false, error: `--permission-mode must be one of ${MODES.join(', ')}, not '${mode}'` }
  }
  const turns = values['max-turns'] ?? values.maxTurns
  let maxTurns: number | undefined
  if (turns !== undefined) {
    maxTurns = Number(turns)
    if (!Number.isInteger(maxTurns) || maxTurns < 1) {
      return { ok: false, error: `--max-turns must be a whole number of at least 1, not '${turns}'` }
    }
  }
  const fork = values['fork-session'] === true || values.forkSession === true
  if (values.continue === true && values.resume !== undefined) {
    return { ok: false, error: '--continue and --resume cannot be used together' }
  }
  if (fork && values.continue !== true && values.resume === undefined) {
    return { ok: false, error: '--fork-session needs --continue or --resume ID' }
  }
  if (values.resume !== undefined && values.resume.trim() === '') {
    return { ok: false, error: '--resume needs a session id' }
  }
  const extra = claudeFlags(values, format as OutputFormat)
  if ('error' in extra) return { ok: false, error: extra.error }
  const prompt = positionals.join(' ').trim()
  return {
    ok: true,
    value: {
      ...extra,
      print: values.print === true,
      prompt: prompt === '' ? undefined : prompt,
      outputFormat: format as OutputFormat,
      ...(values.model !== undefined ? { model: values.model } : {}),
      ...(mode !== undefined ? { permissionMode: mode as PermissionMode } : {}),
      allowedTools: splitRules([...(values['allowed-tools'] ?? []), ...(values.allowedTools ?? [])]),
      disallowedTools: splitRules([...(values['disallowed-tools'] ?? []), ...(values.disallowedTools ?? [])]),
      ...(maxTurns !== undefined ? { maxTurns } : {}),
      ...(values.cwd !== undefined ? { cwd: values.cwd } : {}),
      verbose: values.verbose === true,
      // Only when given, so the arguments of a plain run stay as they were.
      ...(values.continue === true ? { continue: true } : {}),
      ...(values.resume !== undefined ? { resume: values.resume } : {}),
      ...(fork ? { forkSession: true } : {}),
    },
  }
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true })
}
