/**
 * `addMemory(text, scope)`: appends a line to a memory file. For the terminal's `#` input (a
 * line starting with `#` adds to memory) and for anything else that wants to remember a fact.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** `project`: <project>/TAU.md (shared with the team); `user`: <tauHome>/TAU.md (all projects). */
export type MemoryScope = 'project' | 'user'

export interface MemoryPaths {
  readonly projectDir: string
  readonly tauHome: string
}

export function memoryFileFor(scope: MemoryScope, paths: MemoryPaths): string {
  return scope === 'user' ? join(paths.tauHome, 'TAU.md') : join(paths.projectDir, 'TAU.md')
}

/** Appends `- text` to the scope's TAU.md (created when missing). Returns the file written. */
export async function addMemory(text: string, scope: MemoryScope, paths: MemoryPaths): Promise<string> {
  const line = text.replace(/^#\s*/, '').replace(/\s+/g, ' ').trim()
  if (line === '') throw new TypeError('addMemory: the text is empty')
  const file = memoryFileFor(scope, paths)
  await mkdir(dirname(file), { recursive: true })
  let before = ''
  try {
    before = await readFile(file, 'utf8')
  } catch {
    // A new file.
  }
  const separator = before === '' || before.endsWith('\n') ? '' : '\n'
  await appendFile(file, `${separator}- ${line}\n`)
  return file
}
