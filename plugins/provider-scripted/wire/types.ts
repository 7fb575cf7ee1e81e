/**
 * The contract between the scripted loopback server and a wire format: a renderer turns one HTTP
 * request (and, for model calls, the next script turn) into a response body cut into chunks.
 * The server owns transport (delays, re-cutting at byte boundaries, dropped connections).
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { ScriptTurn } from '../script.js'

export interface WireRequest {
  readonly method: string
  /** Path and query, e.g. `/v1/chat/completions?api-version=2024-10-21`. */
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** The body parsed as JSON, or undefined. */
  readonly body: unknown
  readonly rawBody: string
}

export interface WireResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** Body pieces, written in order (with the turn's chunkDelayMs between them). */
  readonly chunks: readonly string[]
  /** The turn this answers, whose transport settings (delays, drops) apply. */
  readonly turn?: ScriptTurn
}

/** A model the server says it has (listing, capabilities). */
export interface ScriptedModel {
  readonly name: string
  /** Ollama-style capability names: completion, tools, thinking, vision, embedding. */
  readonly capabilities?: readonly string[]
  readonly contextLength?: number
}

export interface WireContext {
  /** Takes the next script turn; undefined when the script is used up. */
  next(): ScriptTurn | undefined
  readonly models: readonly ScriptedModel[]
  /** Embedding for one input text. */
  embed(text: string): number[]
}

export interface WireRenderer {
  /** Answers a request, or returns undefined for a path this format does not serve (404). */
  handle(request: WireRequest, context: WireContext): WireResponse | undefined
}
