/**
 * Plugins read the kernel's env (`ctx.env`, PluginContext.env; docs/plugins.md), not process.env:
 * an embedder's kernel has an env of its own, and the settings files' `env` is written into it.
 * This lists every `process.env` in plugins/ and sdk/ (the TypeScript syntax tree, so comments and
 * strings do not count) against the few that are process-wide by nature, each with its reason. A
 * new one fails here: read ctx.env instead, or, when the process itself runs on it, add it below
 * with the reason.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** File (from the repository root) -> how many process.env it holds, and why they stay. */
const PROCESS_WIDE: Readonly<Record<string, { readonly count: number; readonly why: string }>> = {
  'plugins/agent/system-prompt.ts': {
    count: 3,
    why: "PATH and HOME of tau's own git process (the system prompt's repository facts)",
  },
  'plugins/sandbox/container-config.ts': { count: 1, why: 'PATH to find the docker or podman binary' },
  'plugins/sandbox/container-docker.ts': {
    count: 1,
    why: "the container engine's CLI (an image build), tau's own helper like bwrap",
  },
  'plugins/sandbox/local.ts': {
    count: 1,
    why: 'the default of LocalEnvironmentOptions.parentEnv for library use; the plugin passes ctx.env',
  },
  'plugins/sandbox/policy.ts': {
    count: 1,
    why: 'the default tau home of resolvePolicy for library use; the plugin passes ctx.paths.tauHome',
  },
  'plugins/sandbox/process-group.ts': { count: 1, why: 'COMSPEC: the Windows shell of this machine' },
  'plugins/telemetry/index.ts': {
    count: 1,
    why: 'OTEL_*: the OpenTelemetry exporter reads process.env itself; the switch must agree with it',
  },
  'plugins/terminal/ui.ts': {
    count: 1,
    why: 'the default of TerminalOptions.env; the plugin passes ctx.env',
  },
  'sdk/create-agent.ts': { count: 1, why: "createAgent's env when none is given, as the tau command's" },
  'plugins/tools/builtins/websearch.ts': {
    count: 1,
    why: "the default of createWebSearchTool's env for library use; the tools plugin passes ctx.env",
  },
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

/** The lines of `file` where process.env is read. */
function processEnvLines(file: string): number[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const lines: number[] = []
  const visit = (node: ts.Node) => {
    if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'env' &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'process'
    )
      lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return lines
}

describe('process.env in plugins and the SDK', () => {
  it('is read only where the process itself runs on it (everything else reads ctx.env)', () => {
    const found: Record<string, number[]> = {}
    for (const file of [...sourceFiles(join(repo, 'plugins')), ...sourceFiles(join(repo, 'sdk'))]) {
      const lines = processEnvLines(file)
      if (lines.length > 0) found[relative(repo, file).split(sep).join('/')] = lines
    }
    const unexpected = Object.entries(found)
      .filter(([file, lines]) => PROCESS_WIDE[file]?.count !== lines.length)
      .map(([file, lines]) => `${file}:${lines.join(',')}`)
    expect(
      unexpected,
      'read ctx.env (PluginContext.env) there, or list the file in PROCESS_WIDE with why',
    ).toEqual([])
    // A listed file that no longer reads it is taken off the list.
    expect(Object.keys(PROCESS_WIDE).filter((file) => found[file] === undefined)).toEqual([])
  })
})
