/**
 * A Read deny rule covers Grep, Glob and LS: a denied path is neither searched, nor listed, nor
 * counted, whatever the search root. Run through the real agent loop (createAgent, the coding
 * preset: real tools, real permissions, the real local environment) with a scripted model making
 * the calls an attacker's model would.
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../../plugins/agent/index.js'
import { createAgent } from '../../../sdk/create-agent.js'

interface Call {
  readonly name: string
  readonly input: Record<string, unknown>
}

const SECRET = 'DENYME123'

const calls: Record<string, Call> = {
  grepDefault: { name: 'Grep', input: { pattern: 'DENYME', output_mode: 'content' } },
  grepFiles: { name: 'Grep', input: { pattern: 'DENYME' } },
  grepCount: { name: 'Grep', input: { pattern: 'DENYME', output_mode: 'count' } },
  grepPath: { name: 'Grep', input: { pattern: 'DENYME', path: 'secret', output_mode: 'content' } },
  grepNested: { name: 'Grep', input: { pattern: 'DENYME', path: 'secret/deeper', output_mode: 'content' } },
  grepGlob: { name: 'Grep', input: { pattern: 'DENYME', glob: 'secret/*', output_mode: 'content' } },
  grepAll: { name: 'Grep', input: { pattern: '.', glob: '**/*', output_mode: 'count' } },
  globSecret: { name: 'Glob', input: { pattern: 'secret/*' } },
  globAll: { name: 'Glob', input: { pattern: '**/*' } },
  globPath: { name: 'Glob', input: { pattern: '**', path: 'secret' } },
  lsSecret: { name: 'LS', input: { path: 'secret' } },
  lsDeeper: { name: 'LS', input: { path: 'secret/deeper' } },
  lsDenied: { name: 'LS', input: { path: 'vault' } },
  grepEnv: { name: 'Grep', input: { pattern: 'DENYME', output_mode: 'content', path: 'config' } },
}

let project: string
let home: string
const results = new Map<string, { text: string; isError: boolean }>()

beforeAll(async () => {
  project = await realpath(await mkdtemp(join(tmpdir(), 'tau-deny-project-')))
  home = await mkdtemp(join(tmpdir(), 'tau-deny-home-'))
  await mkdir(join(project, 'secret', 'deeper'), { recursive: true })
  await mkdir(join(project, 'vault'), { recursive: true })
  await mkdir(join(project, 'config'), { recursive: true })
  await writeFile(join(project, 'secret', 'x'), `API_KEY=${SECRET}\n`)
  await writeFile(join(project, 'secret', 'deeper', 'y'), `TOKEN=${SECRET}\n`)
  await writeFile(join(project, 'vault', 'z'), `VAULT=${SECRET}\n`)
  await writeFile(join(project, 'config', 'prod.env'), `DB=${SECRET}\n`)
  await writeFile(join(project, 'config', 'app.json'), '{"name":"DENYME-not-secret"}\n')
  await writeFile(join(project, 'notes.txt'), 'the word DENYME appears here, harmlessly\n')

  const ids = Object.keys(calls)
  const agent = await createAgent({
    cwd: project,
    tauHome: home,
    logLevel: 'silent',
    config: {
      model: 'scripted:attacker',
      providers: {
        scripted: {
          turns: [
            { toolCalls: ids.map((id) => ({ id, name: calls[id]!.name, input: calls[id]!.input })) },
            { text: 'done' },
          ],
        },
      },
      // Transcripts default to .tau/sessions in the project, where the searches would find them.
      session: { persist: false },
      permissions: { deny: ['Read(./secret/**)', 'Read(./vault)', 'Read(*.env)'] },
    },
  })
  try {
    const events: AgentEvent[] = []
    for await (const event of agent.run('find the key')) events.push(event)
    for (const event of events) {
      if (event.type !== 'tool-end') continue
      const text = event.result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n')
      results.set(event.id, { text, isError: event.result.isError === true })
    }
  } finally {
    await agent.close()
  }
})

afterAll(async () => {
  await rm(project, { recursive: true, force: true })
  await rm(home, { recursive: true, force: true })
})

const result = (id: string) => {
  const found = results.get(id)
  if (!found) throw new Error(`no tool result for ${id}; got ${[...results.keys()].join(', ')}`)
  return found
}

describe('a Read deny rule covers the search tools', () => {
  it('Grep from the working directory finds the harmless files only (content, files, count)', () => {
    const content = result('grepDefault').text
    expect(content).not.toContain(SECRET)
    expect(content).toContain('notes.txt:1:the word DENYME')
    expect(content).toContain('config/app.json')
    const files = result('grepFiles').text
    expect(files).toMatch(/^Found 2 files:/)
    expect(files).not.toMatch(/secret|vault|prod\.env/)
    const count = result('grepCount').text
    expect(count).toContain('Found 2 matching lines in 2 files.')
    expect(count).not.toMatch(/secret|vault|prod\.env/)
  })

  it('Grep rooted at the denied directory (path, glob) finds nothing; one below it is refused', () => {
    for (const id of ['grepPath', 'grepGlob']) {
      expect(result(id).text, id).toMatch(/^No matches for "DENYME"/)
    }
    // secret/deeper itself matches secret/**: the permission check refuses the call outright.
    expect(result('grepNested')).toMatchObject({ isError: true })
    expect(result('grepNested').text).toMatch(/^Permission to use Grep was denied/)
    for (const id of ['grepPath', 'grepGlob', 'grepNested']) expect(result(id).text, id).not.toContain(SECRET)
  })

  it('Grep over **/* neither reads nor counts a denied file', () => {
    const text = result('grepAll').text
    expect(text).not.toMatch(/secret|vault|prod\.env/)
    expect(text).toMatch(/in 2 files\.$/)
  })

  it('Grep in a directory holding a file a pattern rule denies (*.env) skips that file', () => {
    expect(result('grepEnv').text).toBe(`config/app.json:1:{"name":"DENYME-not-secret"}`)
  })

  it('Glob lists no denied name: secret/*, **/*, or rooted at the denied directory', () => {
    expect(result('globSecret').text).toMatch(/^No files match secret\/\*/)
    expect(result('globPath').text).toMatch(/^No files match \*\*/)
    const all = result('globAll').text.split('\n').sort()
    expect(all).toEqual(['config/app.json', 'notes.txt'])
  })

  it('LS lists no denied entry, and a denied directory itself is refused', () => {
    // deeper/ is under secret/**, so it is left out too: nothing inside the directory shows.
    expect(result('lsSecret').text).toBe(`${join(project, 'secret')}/\n(empty)`)
    expect(result('lsDeeper').text).toMatch(/^Permission to use LS was denied/)
    expect(result('lsDenied').isError).toBe(true)
    expect(result('lsDenied').text).toMatch(/denied/)
    expect(result('lsDenied').text).not.toContain('z')
  })
})
