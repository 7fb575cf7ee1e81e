/**
 * Workspace trust: which project directories the user has said may act on their own — start
 * the servers of their `.mcp.json`, apply their allow rules and run their command hooks. The
 * decisions live in `$TAU_HOME/trust.json` (never inside the workspace, where a cloned
 * repository could write its own answer), one absolute real path each; a trusted directory
 * trusts the directories below it.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, realpathSync } from 'node:fs'
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { TauError } from '../../kernel/index.js'

export const TRUST_FILE = 'trust.json'

export interface TrustEntry {
  /** When the user trusted it (ISO time). */
  readonly trustedAt: string
}

interface TrustData {
  readonly workspaces: Record<string, TrustEntry>
}

export function trustFile(tauHome: string): string {
  return join(tauHome, TRUST_FILE)
}

/** The real path of `dir` (symlinks resolved) when it exists, else its absolute path. */
export function canonical(dir: string): string {
  const absolute = resolve(dir)
  try {
    return realpathSync(absolute)
  } catch {
    return absolute
  }
}

/** The trusted workspaces; {} when the file does not exist. A malformed file is an error. */
export function readTrust(tauHome: string): Record<string, TrustEntry> {
  const file = trustFile(tauHome)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return {}
    throw new TauError(
      'TAU_CONFIG_LOAD',
      `the trust file ${file} could not be read: ${(error as Error).message}`,
      {
        file,
        cause: error,
      },
    )
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw malformed(file, `not valid JSON (${(error as Error).message})`)
  }
  const workspaces = (data as { workspaces?: unknown } | null)?.workspaces
  if (typeof workspaces !== 'object' || workspaces === null || Array.isArray(workspaces)) {
    throw malformed(file, 'expected { "workspaces": { "/absolute/path": { "trustedAt": "..." } } }')
  }
  return workspaces as Record<string, TrustEntry>
}

function malformed(file: string, detail: string): TauError {
  return new TauError('TAU_CONFIG_INVALID', `the trust file ${file}: ${detail}`, {
    file,
    hint: 'Fix the file, or delete it and trust your workspaces again with `tau trust`.',
  })
}

/** The trusted directory that covers `dir` (itself or an ancestor), if any. */
export function trustedRoot(tauHome: string, dir: string): string | undefined {
  const target = canonical(dir)
  for (const root of Object.keys(readTrust(tauHome))) {
    if (target === root || target.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)) return root
  }
  return undefined
}

/** Adds (`trusted`) or removes a directory; written to a temporary file, then renamed over. */
export async function setTrust(tauHome: string, dir: string, trusted: boolean): Promise<boolean> {
  const file = trustFile(tauHome)
  const workspaces = { ...readTrust(tauHome) }
  const key = canonical(dir)
  const had = key in workspaces
  if (trusted) workspaces[key] = { trustedAt: new Date().toISOString() }
  else delete workspaces[key]
  const data: TrustData = { workspaces }
  await mkdir(dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 })
    await rename(temporary, file)
  } catch (error) {
    await unlink(temporary).catch(() => undefined)
    throw error
  }
  return trusted ? !had : had
}
