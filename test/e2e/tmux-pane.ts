/**
 * The real `tau` binary in a pseudo-terminal, for the terminal's end-to-end tests: tmux on a
 * private socket under the project's TAU_HOME (never the user's tmux server), a pane of a given
 * size running `node dist/bin/tau.js start` `runs` times in a row, each run's exit code written to
 * a file. Waits poll the screen or the file with generous deadlines (the suite runs on loaded
 * two-core machines); they fail with what the screen showed. Needs tmux on PATH (CI installs it).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { HANG_LIMIT_MS, type Project, TAU_BIN } from './run-tau.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface PaneOptions {
  /** Names the socket, the script and the exit-code files (several panes in one project). */
  readonly name?: string
  /** Starts of tau in a row, to see what survives a restart (default 1). */
  readonly runs?: number
  readonly columns?: number
  /** TERM=xterm-256color without NO_COLOR. */
  readonly color?: boolean
  /** TAU_TRUST=1: the fixture project is the test's own (default); false asks the trust question. */
  readonly trusted?: boolean
}

export interface Pane {
  tmux(...args: string[]): string
  screen(): string
  keys(...keys: string[]): void
  /** Types the text literally, then Enter. */
  type(text: string): void
  /** Pastes as a terminal does for a program that asked for bracketed paste. */
  paste(text: string): void
  /** The screen once it matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** The exit code of the `run`th start, once it exited. */
  exitCode(run?: number): Promise<string>
}

/** A factory for panes; every tmux server it started is killed after the file's tests. */
export function usePanes(): (p: Project, options?: PaneOptions) => Pane {
  const sockets: string[] = []
  afterAll(() => {
    for (const socket of sockets) {
      try {
        execFileSync('tmux', ['-S', socket, 'kill-server'], { stdio: 'ignore' })
      } catch {}
    }
  })
  return (p, options = {}) => {
    const name = options.name ?? 'tau'
    const script = Array.from(
      { length: options.runs ?? 1 },
      (_, i) => `node ${JSON.stringify(TAU_BIN)} start\necho $? > ${name}-exit-${i + 1}.code`,
    ).join('\n')
    const runSh = p.path(`${name}-run.sh`)
    // The pane stays a moment after the last run, so its last screen can still be read.
    writeFileSync(runSh, `#!/bin/sh\ncd "$(dirname "$0")"\n${script}\nsleep 2\n`)
    const env = [
      `PATH=${process.env.PATH}`,
      `TAU_HOME=${p.tauHome}`,
      `HOME=${p.home}`,
      ...(options.trusted === false ? [] : ['TAU_TRUST=1']),
      options.color ? 'TERM=xterm-256color' : 'NO_COLOR=1 TERM=xterm',
    ].join(' ')
    const socket = join(p.tauHome, `${name}.sock`)
    sockets.push(socket)
    const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' })
    tmux(
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'tau',
      '-x',
      String(options.columns ?? 80),
      '-y',
      '40',
      `env -i ${env} sh ${runSh}`,
    )
    const screen = () => {
      try {
        return tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', 'tau')
      } catch {
        return '(pane gone)'
      }
    }
    return {
      tmux,
      screen,
      keys: (...keys) => {
        tmux('send-keys', '-t', 'tau', ...keys)
      },
      type(text) {
        tmux('send-keys', '-t', 'tau', '-l', text)
        tmux('send-keys', '-t', 'tau', 'Enter')
      },
      paste(text) {
        execFileSync('tmux', ['-S', socket, 'load-buffer', '-'], { input: text })
        tmux('paste-buffer', '-p', '-t', 'tau')
      },
      async waitFor(pattern, timeoutMs = HANG_LIMIT_MS) {
        const deadline = Date.now() + timeoutMs
        let text = screen()
        while (!pattern.test(text)) {
          if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${text}`)
          await sleep(100)
          text = screen()
        }
        return text
      },
      async exitCode(run = 1) {
        const file = p.path(`${name}-exit-${run}.code`)
        const deadline = Date.now() + HANG_LIMIT_MS
        // The shell creates the file before it writes the code: wait for the code itself.
        const code = () => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '')
        while (code() === '') {
          if (Date.now() > deadline) throw new Error(`run ${run} of tau did not exit:\n${screen()}`)
          await sleep(50)
        }
        return code()
      },
    }
  }
}
