/**
 * Sessions end to end: the real binary, the `coding` preset (which holds the session plugin), the
 * in-process scripted model. `tau start -p` twice, the second
 * with --continue: the second run goes on in the same transcript, after the first run's messages,
 * and `tau sessions` lists it. `--resume` of a session whose log has its own settings (as `tau
 * serve` writes them) runs with its MCP server and bubblewrap.
 */
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { bwrapStatus } from '../../plugins/sandbox/index.js'
import { projectKey } from '../../plugins/session/index.js'
import { useProjects } from './run-tau.js'

const project = useProjects()
const EVERYTHING_MAIN = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
)

// tau.config.json: the config's form is not under test, and a rewritten tau.config.ts is
// transpiled again (jiti: ~0.45 s of CPU a time). The session plugin is the preset's own: listed
// by its dist/ path (as before the preset held it), each run loaded its compiled tree again
// through jiti.
const config = (answer: string) =>
  JSON.stringify({
    preset: 'coding',
    model: 'scripted:x',
    providers: { scripted: { turns: [{ text: answer }] } },
  })

type Record_ = { type: string; id?: string; index?: number; message?: { role: string; content: unknown } }

describe('tau start -p --continue (sessions, end to end)', () => {
  it('the second run continues the first run’s transcript; tau sessions lists it', async () => {
    const p = await project({ 'tau.config.json': config('First answer.') })
    const first = await p.run(['start', '-p', 'Remember the word banana'])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout.trim()).toBe('First answer.')
    // Outside the workspace: $TAU_HOME/projects/<project-key>/.
    const dir = join(p.tauHome, 'projects', projectKey(p.dir))
    expect(p.exists('.tau/sessions')).toBe(false)
    const files = await readdir(dir)
    expect(files).toHaveLength(1)

    await p.write({ 'tau.config.json': config('Second answer.') })
    const second = await p.run(['start', '-p', '--continue', 'What was the word?', '--output-format', 'json'])
    expect(second.code).toBe(0)
    const result = JSON.parse(second.stdout) as { result: string; session_id: string }
    expect(result.result).toBe('Second answer.')
    // Still one transcript: the same session went on.
    expect(await readdir(dir)).toEqual(files)
    expect(`${result.session_id}.jsonl`).toBe(files[0])
    const records = (await readFile(join(dir, files[0]!), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record_)
    expect(records.filter((r) => r.type === 'meta')).toHaveLength(1)
    const messages = records.filter((r) => r.type === 'message')
    expect(messages.map((r) => [r.index, r.message!.role, r.message!.content])).toEqual([
      [0, 'user', 'Remember the word banana'],
      [1, 'assistant', [{ type: 'text', text: 'First answer.' }]],
      [2, 'user', 'What was the word?'],
      [3, 'assistant', [{ type: 'text', text: 'Second answer.' }]],
    ])

    const listed = await p.run(['sessions', '--json'])
    expect(listed.code).toBe(0)
    const sessions = JSON.parse(listed.stdout) as Array<{
      id: string
      title: string
      turns: number
      model: string
    }>
    expect(sessions).toEqual([
      expect.objectContaining({
        id: result.session_id,
        title: 'Remember the word banana',
        turns: 2,
        model: 'scripted:x',
      }),
    ])
  })

  it('--resume with an unknown id fails with TAU_SESSION_NOT_FOUND, exit 1', async () => {
    const p = await project({ 'tau.config.json': config('x') })
    const run = await p.run(['start', '-p', '--resume', 'nope', 'hi'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/no session nope .*tau sessions/)
  })
})

describe("tau start -p --resume runs with the session's own settings (from its log)", () => {
  const bwrap = bwrapStatus()
  it.runIf(bwrap.available || process.env.CI === 'true')(
    'a session whose log has mcpServers and sandbox (as tau serve writes them) resumes with its MCP server and bubblewrap',
    async () => {
      const scripted = (turns: unknown[]) =>
        JSON.stringify({
          preset: 'coding',
          model: 'scripted:x',
          providers: { scripted: { turns } },
          sandbox: { mode: 'off' },
        })
      const p = await project({ 'tau.config.json': scripted([{ text: 'First answer.' }]) })
      const outside = join(dirname(p.dir), 'outside-resume')
      await mkdir(outside)
      const first = await p.run(['start', '-p', 'hello'])
      expect(first.code).toBe(0)
      const dir = join(p.tauHome, 'projects', projectKey(p.dir))
      const [file] = await readdir(dir)
      const path = join(dir, file!)
      // The session's own settings in its meta record, as a POST /sessions with them writes it.
      const lines = (await readFile(path, 'utf8')).trim().split('\n')
      const meta = JSON.parse(lines[0]!) as Record<string, unknown>
      const settings = {
        mcpServers: { mine: { command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'] } },
        sandbox: { mode: 'bwrap' },
      }
      await writeFile(path, `${[JSON.stringify({ ...meta, settings }), ...lines.slice(1)].join('\n')}\n`)

      await p.write({
        'tau.config.json': scripted([
          {
            toolCalls: [
              { id: 'e1', name: 'mcp__mine__echo', input: { message: 'resumed with it' } },
              { id: 'b1', name: 'Bash', input: { command: `echo hi > ${join(outside, 'escaped')}` } },
            ],
          },
          { text: 'Resumed.' },
        ]),
      })
      const resumed = await p.run([
        'start',
        '-p',
        '--resume',
        String(meta.id),
        '--permission-mode',
        'bypassPermissions',
        'echo and write',
      ])
      expect(resumed.code).toBe(0)
      expect(resumed.stdout.trim()).toBe('Resumed.')
      const records = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record_)
      const results = JSON.stringify(records.filter((r) => r.message?.role === 'tool'))
      expect(results).toContain('Echo: resumed with it')
      expect(existsSync(join(outside, 'escaped'))).toBe(false)
    },
  )
})
