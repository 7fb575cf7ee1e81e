/** The arguments of `tau start` for a headless run, in the spelling of `claude -p`. */
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
}

export type ParseResult = { ok: true; value: HeadlessArgs } | { ok: false; error: string }

export const USAGE = `usage: tau start -p [options] "PROMPT"     (or the prompt on stdin)
  -p, --print                  run the prompt once, print the result, exit
  --output-format FORMAT       text (default) | json | stream-json
  --model REF                  provider:model, e.g. ollama:qwen3:8b
  --permission-mode MODE       default | acceptEdits | plan | bypassPermissions
  --allowed-tools RULES        permission rules to allow, e.g. "Bash(npm test:*) Read"
  --disallowed-tools RULES     permission rules to deny; bare tool names are hidden from the model
  --max-turns N                stop after N model calls
  --cwd DIR                    run in this directory
  --verbose                    show tool calls on stderr
  -c, --continue               continue the latest session of this project
  -r, --resume ID              resume the session ID (see tau sessions)
  --fork-session               with --continue or --resume: go on in a copy under a new id
  --settings FILE|JSON         one more settings layer (permissions, hooks), above every file
  --setting-sources LIST       the settings scopes read: user,project,local (default: all)
  --trust                      trust this workspace for this run (project MCP servers, rules, hooks)`

const FORMATS: readonly OutputFormat[] = ['text', 'json', 'stream-json']
const MODES: readonly PermissionMode[] = ['default', 'acceptEdits', 'plan', 'bypassPermissions']

const OPTIONS = {
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
} as const

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
  const mode = values['permission-mode'] ?? values.permissionMode
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
  const prompt = positionals.join(' ').trim()
  return {
    ok: true,
    value: {
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
