/**
 * The `trust` plugin: workspace trust. Until the user trusts a project directory, what the
 * project itself asks for does not happen: its `.mcp.json` servers do not start, its allow
 * rules, permission mode and extra directories are not applied (its deny and ask rules are),
 * and its command hooks do not run. tau says what it skipped and how to trust.
 *
 * Trust comes from `tau trust` (remembered in `$TAU_HOME/trust.json`), from the question the
 * terminal asks at startup, or for one run from `--trust` or `TAU_TRUST=1` (headless, CI).
 * The plugins that gate something read the decision through `trustOf(ctx)`.
 */
import {
  type CliCommand,
  cliCommandsRef,
  definePlugin,
  defineService,
  type KernelPaths,
  type Logger,
  type PluginContext,
} from '../../kernel/index.js'
import { canonical, readTrust, setTrust, trustedRoot, trustFile } from './store.js'

export { canonical, readTrust, setTrust, TRUST_FILE, trustedRoot, trustFile } from './store.js'

/** How the workspace came to be trusted. */
export type TrustSource = 'remembered' | 'flag' | 'env'

const TRUE = new Set(['1', 'true', 'yes'])

export const TRUST_HINT = 'trust it with `tau trust` (remembered), or for one run with --trust or TAU_TRUST=1'

/** The trust decision for one kernel's project directory. */
export class WorkspaceTrust {
  /** The project directory, as a real path. */
  readonly dir: string
  private source: TrustSource | undefined
  private readonly skips: string[] = []

  constructor(
    private readonly paths: Pick<KernelPaths, 'projectDir' | 'tauHome'>,
    argv: readonly string[],
    /** The kernel's environment (ctx.env), for TAU_TRUST. */
    env: NodeJS.ProcessEnv,
    /** When given, each skip is logged at once (no trust plugin is there to report them). */
    private readonly logger?: Logger,
  ) {
    this.dir = canonical(paths.projectDir)
    if (argv.includes('--trust')) this.source = 'flag'
    else if (TRUE.has((env.TAU_TRUST ?? '').toLowerCase())) this.source = 'env'
    else if (trustedRoot(paths.tauHome, this.dir) !== undefined) this.source = 'remembered'
  }

  get trusted(): boolean {
    return this.source !== undefined
  }

  get how(): TrustSource | undefined {
    return this.source
  }

  /** Records something left out while the workspace is not trusted, e.g. "MCP servers of .mcp.json (a, b)". */
  skip(what: string): void {
    if (this.trusted) return
    this.skips.push(what)
    this.logger?.warn(this.message([what]))
  }

  skipped(): readonly string[] {
    return this.trusted ? [] : this.skips
  }

  /** The warning for what was skipped. */
  message(items: readonly string[] = this.skips): string {
    return `the workspace ${this.dir} is not trusted, so tau left out: ${items.join('; ')}. Deny rules apply. To let the project act, ${TRUST_HINT}.`
  }

  /** Trusts the workspace and remembers it. */
  async grant(): Promise<void> {
    await setTrust(this.paths.tauHome, this.dir, true)
    this.source = 'remembered'
  }
}

export const workspaceTrustRef = defineService<WorkspaceTrust>('trust.workspace', {
  description: 'Whether the project directory is trusted, and what was left out while it is not.',
})

/** The kernel's trust decision: the trust plugin's, or (without it) one read here, logging its skips. */
export function trustOf(ctx: PluginContext<unknown>): WorkspaceTrust {
  return ctx.tryResolve(workspaceTrustRef) ?? new WorkspaceTrust(ctx.paths, ctx.argv, ctx.env, ctx.logger)
}

function isTTY(stream: NodeJS.ReadableStream | NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}

/** A terminal session is coming (not `-p`, both ends a TTY): the one time tau may ask. */
function interactive(argv: readonly string[]): boolean {
  const print = argv.some((a) => a === '-p' || a === '--print' || a.startsWith('--print='))
  return !print && isTTY(process.stdin) && isTTY(process.stderr)
}

/** Asks on the terminal, before the terminal UI takes it over; true for yes. */
async function ask(trust: WorkspaceTrust, signal: AbortSignal): Promise<boolean> {
  // Loaded here, when there is a question to ask (a -p run never asks).
  const { createInterface } = process.getBuiltinModule('node:readline/promises')
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await rl.question(
      `\nDo you trust the files in ${trust.dir}?\nThe project asks for: ${trust.skipped().join('; ')}.\nTrusting lets it start those servers, apply those rules and run those hooks. Trust this folder? [y/N] `,
      { signal },
    )
    return /^y(es)?$/i.test(answer.trim())
  } catch {
    return false
  } finally {
    rl.close()
  }
}

function trustCommand(paths: KernelPaths): CliCommand {
  return {
    name: 'trust',
    description: 'trust a workspace (default: this project): its MCP servers, allow rules and hooks apply',
    arguments: [{ name: '[dir]', description: 'the directory to trust (default: the project directory)' }],
    options: [
      { flags: '--revoke', description: 'stop trusting the directory' },
      { flags: '--list', description: 'list the trusted directories' },
    ],
    async run({ args, options, stdout }) {
      const file = trustFile(paths.tauHome)
      if (options.list) {
        const entries = Object.entries(readTrust(paths.tauHome))
        if (entries.length === 0) stdout.write(`no trusted workspaces (${file})\n`)
        for (const [dir, entry] of entries) stdout.write(`${dir}  (since ${entry.trustedAt})\n`)
        return 0
      }
      const dir = canonical(typeof args[0] === 'string' ? args[0] : paths.projectDir)
      if (options.revoke) {
        const changed = await setTrust(paths.tauHome, dir, false)
        const still = trustedRoot(paths.tauHome, dir)
        stdout.write(
          `${changed ? 'no longer trusted' : 'was not trusted itself'}: ${dir}${still ? ` (still trusted through ${still})` : ''}\n`,
        )
        return 0
      }
      const changed = await setTrust(paths.tauHome, dir, true)
      stdout.write(`${changed ? 'trusted' : 'already trusted'}: ${dir} (remembered in ${file})\n`)
      return 0
    },
  }
}

export default definePlugin({
  name: 'trust',
  description: 'Workspace trust: project MCP servers, allow rules and hooks apply once the user trusts it',
  setup(ctx) {
    const trust = new WorkspaceTrust(ctx.paths, ctx.argv, ctx.env)
    ctx.provide(workspaceTrustRef, trust)
    ctx.provide(cliCommandsRef, trustCommand(ctx.paths))
    // Plugins set up after this one have said what they would leave out; start taps run in setup
    // order, so the answer is in before the MCP plugin starts servers.
    ctx.hooks.start.tapPromise(async ({ signal }) => {
      if (trust.trusted || trust.skipped().length === 0 || !interactive(ctx.argv)) return
      if (await ask(trust, signal)) await trust.grant()
    })
    ctx.hooks.ready.tap(() => {
      if (trust.skipped().length > 0) ctx.logger.warn(trust.message())
    })
  },
})
