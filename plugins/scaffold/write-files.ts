/**
 * Writing scaffolded files without ever overwriting one silently: an existing file is replaced
 * only with `--yes` or when the user answers yes on a terminal; otherwise it is kept and the
 * report says how to replace it.
 */
import { existsSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname, relative } from 'node:path'
import { createInterface } from 'node:readline'

export interface WriteOptions {
  /** Replace existing files without asking. */
  readonly yes: boolean
  readonly stdin: NodeJS.ReadableStream
  /** Where questions go (stderr: stdout is the command's output). */
  readonly stderr: NodeJS.WritableStream
}

export type WriteOutcome = 'written' | 'replaced' | 'kept'

/** Asks a yes/no question on a terminal; anything but y/yes (or no terminal) is no. */
async function confirm(question: string, options: WriteOptions): Promise<boolean> {
  if ((options.stdin as { isTTY?: boolean }).isTTY !== true) return false
  const rl = createInterface({ input: options.stdin, output: options.stderr, terminal: false })
  try {
    // Listening first: an answer typed ahead (or piped at once) is not lost.
    const answer = new Promise<string>((resolve) => {
      rl.once('line', resolve)
      rl.once('close', () => resolve(''))
    })
    options.stderr.write(`${question} [y/N] `)
    return /^\s*y(es)?\s*$/i.test(await answer)
  } finally {
    rl.close()
  }
}

/** Writes `text` to `file` atomically (a temporary file, then rename), unless kept. */
export async function writeScaffoldFile(
  file: string,
  text: string,
  base: string,
  options: WriteOptions,
): Promise<WriteOutcome> {
  const exists = existsSync(file)
  if (exists && !options.yes && !(await confirm(`${relative(base, file)} exists. Replace it?`, options)))
    return 'kept'
  await mkdir(dirname(file), { recursive: true })
  const temp = `${file}.tau-init-${process.pid}`
  await writeFile(temp, text)
  await rename(temp, file)
  return exists ? 'replaced' : 'written'
}
