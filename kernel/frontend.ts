/**
 * The frontend is what `tau start` runs once the kernel is ready: the terminal UI, a headless
 * run, a server. A preset's frontend plugin provides this service; the kernel knows it only by
 * this ref.
 */
import { defineService } from './services.js'

export interface FrontendRunContext {
  /** Arguments after `tau start` that the CLI itself did not consume, for the frontend to parse. */
  readonly argv: readonly string[]
  /** Aborted on SIGINT/SIGTERM: finish the current step and return. */
  readonly signal: AbortSignal
  readonly stdin: NodeJS.ReadableStream
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

export interface Frontend {
  /** Runs until done; returns the process exit code. */
  run(context: FrontendRunContext): Promise<number>
}

export const frontendRef = defineService<Frontend>('kernel.frontend', {
  description: "What `tau start` runs once the kernel is ready (the preset's frontend).",
})
