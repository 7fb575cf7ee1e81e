/** `tau sessions`: the stored sessions of the project, newest first, as a table or JSON. */
import type { CliCommand } from '../../kernel/index.js'
import type { SessionSummary, TranscriptStore } from './transcript.js'

export function sessionsCommand(store: TranscriptStore): CliCommand {
  return {
    name: 'sessions',
    description: 'list the stored sessions of this project, newest first (id, start, title, turns, model)',
    options: [{ flags: '--json', description: 'print JSON' }],
    async run({ options, stdout, stderr }) {
      const sessions = await store.list()
      for (const session of sessions)
        for (const warning of session.warnings) stderr.write(`tau: warning: ${warning}\n`)
      if (options.json) {
        stdout.write(`${JSON.stringify(sessions, null, 2)}\n`)
        return 0
      }
      stdout.write(formatSessions(sessions))
      return 0
    },
  }
}

/** The text of `tau sessions`. */
export function formatSessions(sessions: readonly SessionSummary[]): string {
  if (sessions.length === 0) return 'No sessions in this project yet.\n'
  const rows = sessions.map((s) => [
    s.id,
    s.startedAt.replace('T', ' ').slice(0, 19),
    String(s.turns),
    s.model,
    `${s.title}${s.parent ? ` (fork of ${s.parent.id.slice(0, 8)})` : ''}${s.subagentOf ? ` (subagent of ${s.subagentOf.id.slice(0, 8)})` : ''}`,
  ])
  const header = ['ID', 'STARTED', 'TURNS', 'MODEL', 'TITLE']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}
