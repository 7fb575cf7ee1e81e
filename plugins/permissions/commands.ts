/** `tau permissions list` and `tau permissions explain 'Bash(rm -rf build)'`. */
import { type CliCommand, TauError } from '../../kernel/index.js'
import { describeSource, type SessionPermissions } from './service.js'
import { PERMISSION_MODES } from './settings.js'
import type { PermissionBehavior, PermissionMode } from './types.js'

export interface CommandHost {
  /** A permissions object over the project's settings, as a new session would start with. */
  create(): SessionPermissions
  /** Where the starting mode came from, for `list`. */
  modeSource(): string
}

export function permissionsCommands(host: CommandHost): CliCommand[] {
  const list: CliCommand = {
    name: 'permissions list',
    description: 'show the permission rules in force, where each comes from, and rules that can never match',
    options: [{ flags: '--json', description: 'print JSON' }],
    async run({ options, stdout }) {
      const permissions = host.create()
      const rules = permissions.rules()
      const problems = permissions.problems()
      if (options.json === true) {
        stdout.write(
          `${JSON.stringify(
            { mode: permissions.mode, directories: permissions.directories, rules, problems },
            null,
            2,
          )}\n`,
        )
        return 0
      }
      const lines: string[] = [
        `mode: ${permissions.mode} (${host.modeSource()})`,
        `workspace: ${permissions.directories.join(', ')}`,
      ]
      for (const behavior of ['deny', 'ask', 'allow'] as const satisfies readonly PermissionBehavior[]) {
        const some = rules.filter((r) => r.behavior === behavior)
        lines.push('', behavior)
        if (some.length === 0) lines.push('  (none)')
        const width = Math.max(0, ...some.map((r) => r.text.length))
        for (const rule of some) lines.push(`  ${rule.text.padEnd(width)}  ${describeSource(rule.source)}`)
      }
      if (problems.length > 0) {
        lines.push('', 'problems')
        for (const problem of problems) {
          const what = problem.rule === undefined ? '' : `${problem.rule} (${problem.behavior}): `
          lines.push(`  ${what}${problem.message} [${describeSource(problem.source)}]`)
        }
      }
      stdout.write(`${lines.join('\n')}\n`)
      return 0
    },
  }

  const explain: CliCommand = {
    name: 'permissions explain',
    description: "show what a tool call would get and why, e.g. tau permissions explain 'Bash(rm -rf build)'",
    arguments: [
      {
        name: '<call>',
        description: "the tool call written as a rule: 'Bash(npm test)', 'Read(./src/a.ts)'",
      },
    ],
    options: [
      {
        flags: '--mode <mode>',
        description: `the permission mode to decide in (${PERMISSION_MODES.join(', ')})`,
      },
      { flags: '--json', description: 'print JSON' },
    ],
    async run({ args, options, stdout }) {
      const call = args[0]
      if (typeof call !== 'string' || call.trim() === '') {
        throw new TauError(
          'TAU_CLI_USAGE',
          "tau permissions explain needs a tool call, e.g. 'Bash(npm test)'",
        )
      }
      const permissions = host.create()
      const mode = options.mode
      if (mode !== undefined) {
        if (typeof mode !== 'string' || !(PERMISSION_MODES as readonly string[]).includes(mode)) {
          throw new TauError(
            'TAU_CLI_USAGE',
            `--mode: '${String(mode)}' is not a permission mode; use one of ${PERMISSION_MODES.join(', ')}`,
          )
        }
        permissions.setMode(mode as PermissionMode)
      }
      const decision = permissions.explain(call)
      if (options.json === true) {
        stdout.write(`${JSON.stringify({ call, mode: permissions.mode, ...decision }, null, 2)}\n`)
        return 0
      }
      const lines = [`${decision.behavior}  ${call}`]
      if (decision.rule) {
        lines.push(
          `rule:   ${decision.rule.text} (${decision.rule.behavior}) from ${describeSource(decision.rule.source)}`,
        )
      } else if (decision.mode) lines.push(`mode:   ${decision.mode} (no rule matched)`)
      else lines.push('input:  the call itself could not be checked')
      lines.push(`reason: ${decision.reason}`)
      stdout.write(`${lines.join('\n')}\n`)
      return 0
    },
  }
  return [list, explain]
}
