/**
 * The bearer token of `tau serve`: created at the first start (32 random bytes, base64url) in a
 * file only the user can read (mode 0600, its folder 0700), read again at every later start.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface ServeToken {
  readonly token: string
  /** True when this start created it (the only time it is printed). */
  readonly created: boolean
  readonly file: string
}

export async function loadOrCreateToken(file: string): Promise<ServeToken> {
  try {
    const token = (await readFile(file, 'utf8')).trim()
    if (token.length >= 16) {
      // A file made by hand or copied may be readable by others: keep it private.
      await chmod(file, 0o600)
      return { token, created: false, file }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('base64url')
  // flag 'w' with mode: a new file is created 0600; chmod covers one that existed empty.
  await writeFile(file, `${token}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
  return { token, created: true, file }
}

/** Compares in constant time (the token must not leak through response timing). */
export function tokenMatches(expected: string, header: string | undefined): boolean {
  if (header === undefined) return false
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match) return false
  const given = Buffer.from(match[1]!)
  const wanted = Buffer.from(expected)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}
