/**
 * Sessions end to end: the real binary, the `coding` preset plus the session plugin (by path,
 * until the preset holds it), the in-process scripted model. `tau start -p` twice, the second
 * with --continue: the second run goes on in the same transcript, after the first run's messages,
 * and `tau sessions` lists it.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectKey } from '../../plugins/session/index.js'
import { REPO_ROOT, useProjects } from './run-tau.js'

const project = useProjects()
const SESSION_PLUGIN = join(REPO_ROOT, 'dist', 'plugins', 'session', 'index.js')

const config = (answer: string) => `import { defineConfig } from 'tau-agent'

export default defineConfig({
  preset: 'coding',
  plugins: [${JSON.stringify(SESSION_PLUGIN)}],
  model: 'scripted:x',
  providers: { scripted: { turns: [{ text: ${JSON.stringify(answer)} }] } },
})
`

type Record_ = { type: string; id?: string; index?: number; message?: { role: string; content: unknown } }

describe('tau start -p --continue (sessions, end to end)', () => {
  it('the second run continues the first run’s transcript; tau sessions lists it', async () => {
    const p = await project({ 'tau.config.ts': config('First answer.') })
    const first = await p.run(['start', '-p', 'Remember the word banana'])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout.trim()).toBe('First answer.')
    // Outside the workspace: $TAU_HOME/projects/<project-key>/.
    const dir = join(p.tauHome, 'projects', projectKey(p.dir))
    expect(p.exists('.tau/sessions')).toBe(false)
    const files = await readdir(dir)
    expect(files).toHaveLength(1)

    await p.write({ 'tau.config.ts': config('Second answer.') })
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
    const p = await project({ 'tau.config.ts': config('x') })
    const run = await p.run(['start', '-p', '--resume', 'nope', 'hi'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/no session nope .*tau sessions/)
  })
})
