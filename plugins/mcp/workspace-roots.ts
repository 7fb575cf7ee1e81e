/**
 * The roots tau tells MCP servers: the workspace roots of the agent sessions that are open,
 * the way the sandbox fences each session (the real path of its working directory plus
 * `sandbox.roots`). Servers are shared by the sessions of a process and the protocol has one
 * roots list per connection, so a server gets the union of the open sessions' roots, in the
 * order the sessions started; with no session open, the roots a session in the kernel's
 * working directory would have. A change is announced with `notifications/roots/list_changed`.
 */
import { resolve } from 'node:path'
import { absoluteFrom, realPathSyncOf } from '../sandbox/index.js'
import { type Root, rootsOf } from './client-features.js'

export class WorkspaceRoots {
  private readonly sessions = new Map<string, readonly string[]>()
  private listeners: Array<() => void> = []
  private last: string

  /**
   * @param extra `sandbox.roots`, already absolute.
   * @param defaultCwd the kernel's working directory.
   */
  constructor(
    private readonly extra: readonly string[],
    private readonly defaultCwd: string,
  ) {
    this.last = key(this.current())
  }

  /** One session's roots, as its local environment computes them. */
  rootsFor(cwd: string): string[] {
    const real = realPathSyncOf(cwd)
    const roots = [real]
    for (const root of this.extra) {
      const path = realPathSyncOf(resolve(absoluteFrom(real, root)))
      if (!roots.includes(path)) roots.push(path)
    }
    return roots
  }

  current(): Root[] {
    const paths = this.sessions.size > 0 ? [...this.sessions.values()].flat() : this.rootsFor(this.defaultCwd)
    return rootsOf(paths)
  }

  open(sessionId: string, cwd: string): void {
    this.sessions.set(sessionId, this.rootsFor(cwd))
    this.changed()
  }

  close(sessionId: string): void {
    if (this.sessions.delete(sessionId)) this.changed()
  }

  /** Called when the roots list changes (not when a session with the same roots comes or goes). */
  onChange(listener: () => void): () => void {
    this.listeners.push(listener)
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  private changed(): void {
    const next = key(this.current())
    if (next === this.last) return
    this.last = next
    for (const listener of this.listeners) listener()
  }
}

function key(roots: readonly Root[]): string {
  return roots.map((r) => r.uri).join('\n')
}

/** `sandbox.roots` from the root config, absolute (relative ones from the project directory). */
export function sandboxRoots(projectDir: string, rootConfig: Readonly<Record<string, unknown>>): string[] {
  const sandbox = rootConfig.sandbox as { roots?: unknown } | undefined
  const extra = Array.isArray(sandbox?.roots)
    ? sandbox.roots.filter((v): v is string => typeof v === 'string')
    : []
  return extra.map((root) => resolve(absoluteFrom(projectDir, root)))
}
