/**
 * `@server:uri` mentions in a user prompt (Claude Code's form: `@github:repos/o/r/issues/1`,
 * `@docs:file:///guide.md`): each names a resource of a connected MCP server; its contents are
 * read (`resources/read`) and attached to the prompt the model gets, after it. The mention stays
 * in the prompt as typed. A mention that cannot be resolved (no such server, not connected, no
 * such resource) is attached as a note saying why, and logged as a warning; the run goes on.
 *
 * Only `@name:` with a configured server name counts, or any name followed by a `scheme://`
 * (so `@alice:` in prose is left alone, while `@typo://x` is reported).
 */
import type { ToolResultContent } from '../../kernel/index.js'
import type { ResourceContents } from './resources.js'
import { resourcePart } from './tool-adapter.js'

/** Size limits (characters of text attached). */
export const MENTION_LIMITS = Object.freeze({
  /** One resource's attached text; the rest is cut with a note. */
  perResource: 50_000,
  /** All mentions of one prompt together. */
  total: 150_000,
  /** Mentions resolved per prompt; more are noted, not read. */
  count: 10,
})

export interface Mention {
  /** As typed, `@server:uri`. */
  readonly text: string
  readonly server: string
  readonly uri: string
}

/** Where a mention sits: start of text or after white space or an opening bracket/quote. */
const MENTION = /(?<=^|[\s([{"'])@([A-Za-z0-9_-]+):(\S+)/g
/** Sentence punctuation after a mention is not part of the uri. */
const TRAILING = /[.,;:!?'")\]}]+$/

export function findMentions(prompt: string, servers: readonly string[]): Mention[] {
  const found: Mention[] = []
  const seen = new Set<string>()
  for (const match of prompt.matchAll(MENTION)) {
    const server = match[1]!
    const uri = match[2]!.replace(TRAILING, '')
    if (uri === '') continue
    if (!servers.includes(server) && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(uri)) continue
    const text = `@${server}:${uri}`
    if (seen.has(text)) continue
    seen.add(text)
    found.push({ text, server, uri })
  }
  return found
}

export interface MentionSource {
  readonly names: readonly string[]
  readResource(server: string, uri: string): Promise<ResourceContents>
}

export interface ResolvedMentions {
  /** One text per mention, for `additionalContext`. */
  readonly context: string[]
  /** What could not be attached, for the user (logged). */
  readonly notices: string[]
}

function partText(part: ToolResultContent): string {
  return part.type === 'text'
    ? part.text
    : `[image ${part.mediaType}, ${Math.floor(((part.data?.length ?? 0) * 3) / 4)} bytes: not attached, the prompt is text]`
}

function cut(text: string, limit: number): string {
  if (text.length <= limit) return text
  return `${text.slice(0, limit)}\n[... cut: ${text.length - limit} more characters of this resource not attached]`
}

export async function resolveMentions(
  prompt: string,
  source: MentionSource,
  limits: { perResource: number; total: number; count: number } = MENTION_LIMITS,
): Promise<ResolvedMentions> {
  const mentions = findMentions(prompt, source.names)
  const context: string[] = []
  const notices: string[] = []
  const read = mentions.slice(0, limits.count)
  for (const skipped of mentions.slice(limits.count))
    notices.push(`${skipped.text} was not attached: at most ${limits.count} mentions are read per prompt`)
  const results = await Promise.all(
    read.map(async (mention) => {
      if (!source.names.includes(mention.server)) {
        const names = source.names.join(', ') || 'none'
        return { mention, error: `there is no MCP server '${mention.server}' (servers: ${names})` }
      }
      try {
        return { mention, contents: await source.readResource(mention.server, mention.uri) }
      } catch (error) {
        return { mention, error: error instanceof Error ? error.message : String(error) }
      }
    }),
  )
  let budget = limits.total
  for (const result of results) {
    const { mention } = result
    if ('error' in result) {
      notices.push(`${mention.text} was not attached: ${result.error}`)
      context.push(`(${mention.text} could not be attached: ${result.error})`)
      continue
    }
    const parts = result.contents!.contents.map((item) => partText(resourcePart(item)))
    const whole = parts.length > 0 ? parts.join('\n\n') : `[resource ${mention.uri} is empty]`
    const limit = Math.min(limits.perResource, budget)
    const body = cut(whole, limit)
    budget -= Math.min(whole.length, limit)
    context.push(`Contents of ${mention.text} (a resource of the MCP server '${mention.server}'):\n${body}`)
    if (budget <= 0) {
      const rest = results.slice(results.indexOf(result) + 1)
      for (const other of rest)
        notices.push(
          `${other.mention.text} was not attached: the mentions of this prompt reached ${limits.total} characters`,
        )
      break
    }
  }
  return { context, notices }
}
