/**
 * One settings file as JSON: read with errors that name the file (and the line and column of a
 * syntax error), and a rule added to it by an atomic rewrite. settings.ts layers the files.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { TauError } from '../../kernel/index.js'
import { findJsonSyntaxError } from './json-position.js'
import type { PermissionBehavior } from './types.js'

/**
 * A settings file parsed as a JSON object; undefined when it does not exist. Every plugin that
 * reads a key of these files (permissions, hooks) goes through here.
 */
export function readSettingsJson(file: string, key: string): Record<string, unknown> | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new TauError(
      'TAU_CONFIG_LOAD',
      `settings file ${file} could not be read: ${(error as Error).message}`,
      {
        file,
        cause: error,
      },
    )
  }
  return parseSettingsJson(text, file, key)
}

/**
 * Parses a settings file (.tau/settings.json and friends) as a JSON object, with errors that name
 * the file and the line and column. Shared by every plugin that reads its key from these files;
 * `key` only shapes the example in the message.
 */
export function parseSettingsJson(text: string, file: string, key = 'permissions'): Record<string, unknown> {
  if (text.trim() === '') return {}
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    const found = findJsonSyntaxError(text)
    const message = found
      ? `line ${found.line}, column ${found.column}: ${found.message}`
      : (error as Error).message.split('\n')[0]
    throw new TauError('TAU_CONFIG_LOAD', `settings file ${file} is not valid JSON: ${message}`, {
      file,
      cause: error,
      hint: 'Fix the JSON at the position shown (JSON allows no trailing commas and no comments).',
    })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TauError(
      'TAU_CONFIG_INVALID',
      `settings file ${file}: expected a JSON object at the top ({ "${key}": { ... } }), got ${Array.isArray(data) ? 'an array' : JSON.stringify(data)}`,
      { file },
    )
  }
  return data as Record<string, unknown>
}

// Writes to one file are queued, so two rules added at once both land.
const writeQueues = new Map<string, Promise<unknown>>()

/**
 * Adds a rule to a settings file: read, add to `permissions.<behavior>` (once), write a temporary
 * file and rename it over the old one. Other keys are kept; the file and its folder are created
 * when missing. A file that is not valid JSON is not overwritten.
 */
export function persistRule(file: string, behavior: PermissionBehavior, text: string): Promise<void> {
  const previous = writeQueues.get(file) ?? Promise.resolve()
  const next = previous.catch(() => undefined).then(() => writeRule(file, behavior, text))
  writeQueues.set(file, next)
  void next
    .finally(() => {
      if (writeQueues.get(file) === next) writeQueues.delete(file)
    })
    .catch(() => undefined)
  return next
}

async function writeRule(file: string, behavior: PermissionBehavior, text: string): Promise<void> {
  let data: Record<string, unknown> = {}
  let mode: number | undefined
  try {
    data = parseSettingsJson(await readFile(file, 'utf8'), file)
    mode = (await stat(file)).mode & 0o777
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const current = data.permissions
  if (current !== undefined && (typeof current !== 'object' || current === null || Array.isArray(current))) {
    throw new TauError(
      'TAU_CONFIG_INVALID',
      `settings file ${file}: permissions: expected an object; not changed`,
      {
        file,
      },
    )
  }
  const permissions = { ...(current as Record<string, unknown> | undefined) }
  const list = permissions[behavior]
  if (list !== undefined && !Array.isArray(list)) {
    throw new TauError(
      'TAU_CONFIG_INVALID',
      `settings file ${file}: permissions.${behavior}: expected an array; not changed`,
      { file },
    )
  }
  const next = [...((list as unknown[] | undefined) ?? [])]
  if (!next.includes(text)) next.push(text)
  permissions[behavior] = next
  data = { ...data, permissions }
  await mkdir(dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: mode ?? 0o644 })
    await rename(temporary, file)
  } catch (error) {
    await unlink(temporary).catch(() => undefined)
    throw error
  }
}
