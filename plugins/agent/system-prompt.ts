/**
 * The first sections of the system prompt: what a coding agent should do, and facts about where
 * it runs. Plugins add or replace sections through the `systemPrompt` waterfall.
 */
import { execFile } from 'node:child_process'

export const BASE_INSTRUCTIONS = `You are tau, a coding agent. You work in the user's project through the tools you are given.

- Do what the user asks, all of it: keep calling tools until the task is done, then answer with a short report of what you changed and anything left open.
- Look before you change: read the relevant code first, follow the project's conventions, and make the smallest change that does the job. Prefer Edit for changes to existing files.
- Use the file tools (Read, Edit, Write, Glob, Grep, LS) for files, not shell commands like cat, sed or find. Use Bash to build, test and run things.
- Check your work: run the tests or the program when you can, and read their output.
- Never make up file contents, command output or results. When a tool fails, read the error and adjust.
- If a tool call is denied, do not repeat it; find another way or say what you need.
- Be brief. Point to code as path:line.`

export interface GitFacts {
  /** False when the directory is not in a git work tree, or git is not available. */
  readonly repo: boolean
  readonly branch?: string
  /** `git status --porcelain` lines, cut to a few. */
  readonly changes?: readonly string[]
  readonly changeCount?: number
  /** Why there is no information (git missing, timed out). */
  readonly note?: string
}

const MAX_CHANGES = 20

/** Asks git about `cwd`, with a time limit; never throws. */
export function gitFacts(cwd: string, timeoutMs: number): Promise<GitFacts> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['status', '--porcelain=v1', '--branch', '--untracked-files=normal'],
      {
        cwd,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 1 << 20,
        // Git needs no more than this; nothing else of the user's environment goes to it.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
          LC_ALL: 'C',
          GIT_OPTIONAL_LOCKS: '0',
        },
      },
      (error, stdout) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code
          if (code === 'ENOENT') resolve({ repo: false, note: 'git is not installed' })
          else if ((error as { killed?: boolean }).killed)
            resolve({ repo: false, note: 'git did not answer in time' })
          else resolve({ repo: false })
          return
        }
        const lines = stdout.split('\n').filter((line) => line !== '')
        const head = lines[0]?.startsWith('## ') ? lines.shift()!.slice(3) : undefined
        const branch = head
          ?.replace(/^No commits yet on /, '')
          .replace(/^Initial commit on /, '')
          .split('...')[0]
        resolve({
          repo: true,
          ...(branch ? { branch } : {}),
          changes: lines.slice(0, MAX_CHANGES),
          changeCount: lines.length,
        })
      },
    )
  })
}

export function environmentSection(facts: {
  cwd: string
  platform: string
  date: Date
  model: string
  git: GitFacts
}): string {
  const lines = [
    'Environment:',
    `- Working directory: ${facts.cwd}`,
    `- Platform: ${facts.platform}`,
    `- Date: ${facts.date.toISOString().slice(0, 10)}`,
    `- Model: ${facts.model}`,
  ]
  const { git } = facts
  if (!git.repo) lines.push(`- Git repository: no${git.note ? ` (${git.note})` : ''}`)
  else {
    lines.push(`- Git repository: yes, branch ${git.branch ?? '(unknown)'}`)
    if (git.changeCount === 0) lines.push('- Git status: clean')
    else {
      lines.push(`- Git status: ${git.changeCount} changed or untracked file(s)`)
      for (const change of git.changes ?? []) lines.push(`  ${change}`)
      if ((git.changeCount ?? 0) > (git.changes?.length ?? 0)) lines.push('  ...')
    }
  }
  return lines.join('\n')
}
