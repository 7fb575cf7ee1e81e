/**
 * Exact string replacement in a file, shared by Edit and MultiEdit. All edits of one call are
 * applied to the text in memory and written once, so a call changes the file completely or not
 * at all. The file keeps its encoding and its line endings: text the model sends with `\n` is
 * matched against a CRLF file's `\r\n` and written back with `\r\n`.
 */
import { recordWritten, statIfExists, writeRefusal } from './file-reads.js'
import { decodeText, encodeText, lineEnding, looksBinary, splitLines, withLineEnding } from './text-file.js'
import type { ToolContext, ToolOutput } from './tool.js'
import { displayPath, errorOutput, failure } from './tool-paths.js'
import { unifiedDiff } from './unified-diff.js'

export interface StringEdit {
  old_string: string
  new_string: string
  replace_all?: boolean | undefined
}

type Applied = { ok: true; text: string; count: number; at: number } | { ok: false; error: string }

function occurrences(text: string, search: string): number[] {
  const found: number[] = []
  for (let i = text.indexOf(search); i !== -1; i = text.indexOf(search, i + search.length)) found.push(i)
  return found
}

const squash = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/[ \t]+/g, ' '))
    .join('\n')

/** Why old_string was not found, as far as can be told. */
function notFoundHint(text: string, old: string): string {
  if (/^\s*\d+\t/m.test(old) && !/^\s*\d+\t/m.test(text)) {
    return ' It looks like it includes the line-number prefix from Read; leave the numbers and the tab after them out.'
  }
  if (squash(old).length > 0 && squash(text).includes(squash(old))) {
    return ' Text like it exists with different whitespace or indentation: copy it exactly as the file has it.'
  }
  return ' Read the file again and copy the text exactly, including whitespace and indentation.'
}

/** Applies one edit to a text whose line ending is `eol`. */
export function applyEdit(text: string, edit: StringEdit, eol: '\r\n' | '\n'): Applied {
  if (edit.old_string === edit.new_string) {
    return { ok: false, error: 'old_string and new_string are the same, so nothing would change.' }
  }
  if (edit.old_string === '') {
    if (text === '') return { ok: true, text: withLineEnding(edit.new_string, eol), count: 1, at: 0 }
    return {
      ok: false,
      error:
        'old_string is empty, but the file is not: give the text to replace (or use Write to replace the whole file).',
    }
  }
  const replacement = withLineEnding(edit.new_string, eol)
  const candidates = [edit.old_string]
  const converted = withLineEnding(edit.old_string, eol)
  if (converted !== edit.old_string) candidates.push(converted)
  for (const old of candidates) {
    const found = occurrences(text, old)
    if (found.length === 0) continue
    if (found.length > 1 && !edit.replace_all) {
      return {
        ok: false,
        error: `old_string occurs ${found.length} times in the file. Include more of the surrounding lines to make it unique, or set replace_all to true to replace every occurrence.`,
      }
    }
    const at = found[0]!
    const next = edit.replace_all
      ? text.split(old).join(replacement)
      : text.slice(0, at) + replacement + text.slice(at + old.length)
    return { ok: true, text: next, count: found.length, at }
  }
  return { ok: false, error: `old_string was not found in the file.${notFoundHint(text, edit.old_string)}` }
}

/** A few numbered lines around an edit, so the model sees the result without another Read. */
function snippet(text: string, at: number, length: number): string {
  const lines = splitLines(text)
  const firstLine = text.slice(0, at).split('\n').length
  const lastLine = firstLine + text.slice(at, at + length).split('\n').length - 1
  const from = Math.max(1, firstLine - 3)
  const to = Math.min(lines.length, lastLine + 3, from + 30)
  const width = Math.max(6, String(to).length)
  const out: string[] = []
  for (let n = from; n <= to; n++) out.push(`${String(n).padStart(width)}\t${lines[n - 1]}`)
  return out.join('\n')
}

/**
 * Edits a file: the read-before-write rule, then every edit in order, then one atomic write.
 * `label(i)` names an edit in errors ("Edit 2 of 3: ") for MultiEdit.
 */
export async function editFile(
  filePath: string,
  edits: readonly StringEdit[],
  ctx: ToolContext,
  label: (index: number) => string = () => '',
): Promise<ToolOutput> {
  try {
    const path = await ctx.env.resolvePath(filePath)
    const shown = displayPath(ctx.env, path)
    const before = await statIfExists(path, ctx)
    const failed = (index: number, error: string) =>
      errorOutput(
        `${label(index)}${error}${edits.length > 1 ? ' No edits were applied.' : ''} (${shown} is unchanged.)`,
      )

    let original = ''
    let encoding: ReturnType<typeof decodeText>['encoding'] = 'utf8'
    if (before) {
      if (before.type === 'directory') return errorOutput(`${shown} is a directory, not a file.`)
      const refusal = writeRefusal(ctx.state, before, shown)
      if (refusal) return errorOutput(refusal)
      const data = await ctx.env.readFile(path)
      if (looksBinary(data)) return errorOutput(`${shown} is a binary file; it cannot be edited as text.`)
      ;({ text: original, encoding } = decodeText(data))
    } else if (edits[0]?.old_string !== '') {
      return errorOutput(
        `File does not exist: ${shown}. To create a file, use Write (or an edit whose old_string is empty).`,
      )
    }

    const eol = before ? lineEnding(original) : lineEnding(edits[0]?.new_string ?? '')
    let text = original
    let replacements = 0
    let last: { at: number; length: number } | undefined
    for (const [index, edit] of edits.entries()) {
      const applied = applyEdit(text, edit, eol)
      if (!applied.ok) return failed(index, applied.error)
      replacements += applied.count
      last =
        applied.count === 1
          ? { at: applied.at, length: withLineEnding(edit.new_string, eol).length }
          : undefined
      text = applied.text
    }
    if (ctx.signal.aborted) return errorOutput(`Cancelled before writing; ${shown} is unchanged.`)
    await ctx.env.writeFile(path, encodeText(text, encoding))
    await recordWritten(ctx, path)

    const { diff, added, removed } = unifiedDiff(original, text, shown)
    const what = before
      ? `Edited ${shown}: ${replacements} replacement${replacements === 1 ? '' : 's'}${edits.length > 1 ? ` from ${edits.length} edits` : ''}.`
      : `Created ${shown}.`
    const lines = [what]
    if (before && edits.length === 1 && last) {
      lines.push(`The edited part now reads:\n${snippet(text, last.at, last.length)}`)
    }
    const single = edits.length === 1 ? edits[0] : undefined
    return {
      content: [{ type: 'text', text: lines.join('\n') }],
      // Claude Code's Edit / MultiEdit result (hooks' tool_response, -p's tool_use_result).
      structured: {
        filePath: path,
        ...(single
          ? {
              oldString: single.old_string,
              newString: single.new_string,
              replaceAll: single.replace_all === true,
            }
          : {
              edits: edits.map((e) => ({
                old_string: e.old_string,
                new_string: e.new_string,
                replace_all: e.replace_all === true,
              })),
            }),
        structuredPatch: diff,
        userModified: false,
      },
      display: { type: 'diff', path, created: !before, diff, added, removed },
    }
  } catch (error) {
    return failure(error)
  }
}
