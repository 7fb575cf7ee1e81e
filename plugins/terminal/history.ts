/**
 * The prompt history of the interactive terminal, kept across sessions in
 * `$TAU_HOME/history.jsonl`: one JSON line per prompt (`{ "project", "text", "at" }`), appended
 * with O_APPEND so two terminals open at once never interleave a line, mode 0600 (prompts can
 * hold anything the user typed). Each project sees its own prompts, newest last. A line that does
 * not parse (a torn last line after a crash) is skipped.
 */
import { appendFile, chmod, mkdir, open, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Prompts of one project kept in memory for Up/Down. */
const KEEP = 500
/** A single prompt longer than this is not stored (a huge paste). */
const MAX_ENTRY = 100_000

export interface HistoryEntry {
  readonly project: string
  readonly text: string
  readonly at: string
}

export class PromptHistory {
  private entries: string[] = []

  constructor(
    readonly file: string,
    private readonly project: string,
  ) {}

  static at(tauHome: string, project: string): PromptHistory {
    return new PromptHistory(join(tauHome, 'history.jsonl'), project)
  }

  /** The project's prompts, oldest first. */
  get list(): readonly string[] {
    return this.entries
  }

  /** Reads the file; a missing or unreadable file is an empty history. */
  async load(): Promise<readonly string[]> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch {
      return this.entries
    }
    const mine: string[] = []
    for (const line of text.split('\n')) {
      if (line === '') continue
      try {
        const entry = JSON.parse(line) as Partial<HistoryEntry>
        if (entry.project === this.project && typeof entry.text === 'string') mine.push(entry.text)
      } catch {
        // A torn line (a crash mid-write): skipped.
      }
    }
    this.entries = dedupe(mine).slice(-KEEP)
    return this.entries
  }

  /** Adds a prompt (not an empty one, nor a repeat of the last) and appends it to the file. */
  async add(text: string): Promise<void> {
    if (text.trim() === '' || text === this.entries.at(-1)) return
    this.entries = [...this.entries, text].slice(-KEEP)
    if (text.length > MAX_ENTRY) return
    const entry: HistoryEntry = { project: this.project, text, at: new Date().toISOString() }
    await mkdir(dirname(this.file), { recursive: true })
    const end = await lastByte(this.file)
    // After a torn last line, start on a new one so this entry is not glued to it.
    const line = `${end !== undefined && end !== 0x0a ? '\n' : ''}${JSON.stringify(entry)}\n`
    await appendFile(this.file, line, { mode: 0o600 })
    if (end === undefined) await chmod(this.file, 0o600)
  }
}

/** The file's last byte; undefined when there is no file (or it is empty). */
async function lastByte(file: string): Promise<number | undefined> {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(file, 'r')
    const { size } = await handle.stat()
    if (size === 0) return undefined
    const buffer = Buffer.alloc(1)
    await handle.read(buffer, 0, 1, size - 1)
    return buffer[0]
  } catch {
    return undefined
  } finally {
    await handle?.close()
  }
}

/** Drops an entry equal to the one before it. */
function dedupe(entries: readonly string[]): string[] {
  const out: string[] = []
  for (const entry of entries) if (entry !== out.at(-1)) out.push(entry)
  return out
}
