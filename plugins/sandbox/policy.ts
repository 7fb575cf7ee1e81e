/**
 * The sandbox policy, in the shape of Anthropic's sandbox-runtime config so a user can move a
 * policy between the two: `filesystem: { allowWrite, denyWrite, denyRead }` and
 * `network: { mode, allowedDomains, deniedDomains }`. Paths are resolved once, when an environment
 * is made, to real absolute paths; the file tools and the process sandbox read the same lists.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { absoluteFrom, insideRoots, realPathSyncOf } from './workspace-paths.js'

// Made on first use (config.ts builds the sandbox slice's schema only when it is validated).
const domain = () =>
  z
    .string()
    .min(1)
    .regex(/^(\*\.)?[A-Za-z0-9.-]+$/, 'a host name (example.com) or a wildcard (*.example.com)')

export const filesystemPolicySchema = () =>
  z.strictObject({
    /** More paths processes may write, besides the workspace roots. */
    allowWrite: z.array(z.string().min(1)).default([]),
    /** Paths never writable (inside the workspace too); wins over allowWrite. */
    denyWrite: z.array(z.string().min(1)).default([]),
    /** Paths neither processes nor the file tools may read (masked inside the sandbox). */
    denyRead: z.array(z.string().min(1)).default([]),
  })

export function networkPolicySchema() {
  const host = domain()
  return z.strictObject({
    /** `none`: no network at all; `allowlist`: only the listed domains, through tau's proxy; `full`: the host's. */
    mode: z.enum(['none', 'allowlist', 'full']).default('none'),
    allowedDomains: z.array(host).default([]),
    /** Wins over allowedDomains. */
    deniedDomains: z.array(host).default([]),
    /**
     * Names tau's proxy resolves itself, like /etc/hosts lines, and trusts (a loopback address
     * too): a local service a tool may reach under a name (`{ 'registry.local': '127.0.0.1' }`).
     * The name must still be allowed. tau tests use it for their loopback servers.
     */
    hosts: z.record(host, z.union([z.ipv4(), z.ipv6()])).default({}),
  })
}

export type NetworkMode = 'none' | 'allowlist' | 'full'

export interface SandboxPolicy {
  readonly filesystem: {
    readonly allowWrite: readonly string[]
    readonly denyWrite: readonly string[]
    readonly denyRead: readonly string[]
  }
  readonly network: {
    readonly mode: NetworkMode
    readonly allowedDomains: readonly string[]
    readonly deniedDomains: readonly string[]
    readonly hosts?: Readonly<Record<string, string>>
  }
}

/** Credentials and tau's own state: never readable from a tool, whatever the config says. */
export function defaultDenyRead(home: string, tauHome: string): string[] {
  return [
    tauHome,
    join(home, '.ssh'),
    join(home, '.aws'),
    join(home, '.gnupg'),
    join(home, '.netrc'),
    join(home, '.npmrc'),
    join(home, '.git-credentials'),
    join(home, '.docker'),
    join(home, '.kube'),
    join(home, '.config', 'gh'),
    join(home, '.config', 'gcloud'),
    join(home, '.azure'),
  ]
}

/**
 * What a process may never change inside a writable root: what tau, git or a shell would later
 * run or obey (hooks, git config, tau's settings and config), so a command cannot widen the
 * sandbox or plant code for the next session outside it.
 */
export function protectedInRoot(root: string): string[] {
  return [
    join(root, '.git', 'hooks'),
    join(root, '.git', 'config'),
    join(root, '.tau'),
    join(root, '.claude'),
    join(root, '.mcp.json'),
    join(root, '.bashrc'),
    join(root, '.profile'),
    join(root, '.zshrc'),
    ...['ts', 'mts', 'js', 'mjs', 'json'].map((ext) => join(root, `tau.config.${ext}`)),
  ]
}

/**
 * A policy with every path real and absolute. Paths that do not exist are dropped (nothing to
 * mask), except the user's denyWrite ones: those are kept, for the file tools and the check after
 * each sandboxed command.
 */
export interface ResolvedPolicy {
  readonly allowWrite: readonly string[]
  readonly denyWrite: readonly string[]
  readonly denyRead: readonly string[]
  readonly network: SandboxPolicy['network']
}

export function resolvePolicy(
  policy: SandboxPolicy,
  options: { readonly cwd: string; readonly roots: readonly string[]; readonly tauHome?: string },
): ResolvedPolicy {
  const home = homedir()
  const real = (paths: readonly string[]) => {
    const out: string[] = []
    for (const path of paths) {
      const absolute = absoluteFrom(options.cwd, path)
      if (!existsSync(absolute)) continue
      const resolved = realPathSyncOf(absolute)
      if (!out.includes(resolved)) out.push(resolved)
    }
    return out
  }
  const tauHome = options.tauHome ?? process.env.TAU_HOME ?? join(home, '.tau')
  // A denyWrite path that does not exist yet is kept (its existing part resolved): the file tools
  // refuse to create it, and a sandboxed command that creates it has it removed (protected-paths.ts).
  const denyWrite = real(options.roots.flatMap(protectedInRoot))
  for (const path of policy.filesystem.denyWrite) {
    const resolved = realPathSyncOf(absoluteFrom(options.cwd, path))
    if (!denyWrite.includes(resolved)) denyWrite.push(resolved)
  }
  return {
    allowWrite: real(policy.filesystem.allowWrite),
    denyWrite,
    denyRead: real([...defaultDenyRead(home, tauHome), ...policy.filesystem.denyRead]),
    network: policy.network,
  }
}

/** Whether a real path is one of the listed paths or below one. */
export function underAny(path: string, list: readonly string[]): boolean {
  return insideRoots(path, list)
}

/** `example.com` matches itself; `*.example.com` matches its subdomains (not itself). */
export function domainMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '')
  const p = pattern.toLowerCase()
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1
  return h === p
}
