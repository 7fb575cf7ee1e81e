/**
 * `tau models pull|list|rm` and `tau start -p` with local models, through the real `tau` binary:
 * downloads from a loopback server standing in for the Hugging Face hub (TAU_HF_ENDPOINT; the real
 * hub is never contacted), then the downloaded scripted model as the default model, calling a
 * real tool and answering after its result. Clear errors for a missing, corrupt and foreign file.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HANG_LIMIT_MS, STACK_LINE, useProjects } from '../../e2e/run-tau.js'
import { type FakeHub, startFakeHub } from './hub-server.js'
import { buildTinyGguf } from './tiny-gguf.js'

const project = useProjects()
const REPO = 'tau-test/Tiny-Scripted-GGUF'
const FILE = 'tiny-scripted-Q8_0.gguf'
const MODEL = buildTinyGguf({
  weights: 'scripted',
  value: 'notes.txt',
  answer: 'The notes say: hello from tau.',
  ctx: 32768,
  // Its ChatML template has no tool syntax, so tau's JSON tool format runs (results in <tool_result>).
  resultMarker: '<tool_result',
})
// Only Read stays offered to the scripted model (it picks the lowest-sorting name otherwise).
const HIDDEN =
  'Bash BashOutput KillShell Edit Write MultiEdit NotebookEdit Glob Grep LS WebFetch WebSearch TodoWrite AskUserQuestion Task ExitPlanMode Skill memory'
const CONFIG = { 'tau.config.json': JSON.stringify({ providers: { local: { gpu: false, threads: 1 } } }) }

let hub: FakeHub
beforeAll(async () => {
  hub = await startFakeHub(REPO, { [FILE]: MODEL, 'other-Q4_K_M.gguf': Buffer.from('GGUF') })
})
afterAll(async () => {
  await hub?.close()
})

const env = () => ({ TAU_HF_ENDPOINT: hub.url })
const modelPath = (tauHome: string) => join(tauHome, 'models', 'hf', REPO, FILE)

describe('tau models', () => {
  it('pull shows progress, list shows the model, start uses it as the default, rm removes it', async () => {
    const p = await project({ ...CONFIG, 'notes.txt': 'hello from tau\n' })
    const pulled = await p.run(['models', 'pull', `hf:${REPO}:Q8_0`], { env: env() })
    expect(pulled.stderr).not.toMatch(STACK_LINE)
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(pulled.stderr).toMatch(new RegExp(`${FILE}  .*B / .*B  100%  .*/s  0s left`))
    expect(pulled.stdout).toContain(`downloaded local:hf:${REPO}/${FILE}`)
    expect(await readFile(modelPath(p.tauHome))).toEqual(MODEL)
    // Redirected like the hub's resolve URL, without a Range (nothing to resume).
    expect(hub.requests.some((r) => r.url === `/cdn/${FILE}` && r.range === undefined)).toBe(true)

    const again = await p.run(['models', 'pull', `hf:${REPO}/${FILE}`], { env: env() })
    expect(again.stdout).toContain('is already downloaded')

    const list = await p.run(['models', 'list', '--json'])
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        ref: `local:hf:${REPO}/${FILE}`,
        architecture: 'llama',
        contextLength: 32768,
        valid: true,
      }),
    ])
    expect((await p.run(['models', 'list'])).stdout).toMatch(
      new RegExp(`local:hf:${REPO}/${FILE}\\s+\\d+ KB\\s+llama\\s+32768`),
    )

    // No model configured: the downloaded one is used; it calls Read, tau runs it, and the model
    // answers after its result (the tool_result carries the file's text).
    const run = await p.run(
      [
        'start',
        '-p',
        'What do the notes say?',
        '--output-format',
        'stream-json',
        '--disallowed-tools',
        HIDDEN,
      ],
      { timeoutMs: 180_000 },
    )
    expect(run.stderr).not.toMatch(STACK_LINE)
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    const content = lines.flatMap(
      (line) =>
        ((line.message as { content?: unknown[] } | undefined)?.content ?? []) as Record<string, unknown>[],
    )
    expect(content).toContainEqual(
      expect.objectContaining({ type: 'tool_use', name: 'Read', input: { file_path: 'notes.txt' } }),
    )
    expect(content).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        is_error: false,
        content: expect.stringContaining('hello from tau'),
      }),
    )
    expect(lines.at(-1)).toMatchObject({
      type: 'result',
      result: 'The notes say: hello from tau.',
      num_turns: 2,
      is_error: false,
    })

    const doctor = await p.run(['doctor'], { env: env() })
    expect(doctor.stdout).toMatch(/ok {3}local {6}installed {4}node-llama-cpp 3\.21\.1, 1 thread/)
    expect(doctor.stdout).toMatch(/ok {3}local {6}model .*llama, trained context 32768/)

    const removed = await p.run(['models', 'rm', `hf:${REPO}/${FILE}`])
    expect(removed.code, removed.stderr).toBe(0)
    expect(existsSync(modelPath(p.tauHome))).toBe(false)
    expect((await p.run(['models', 'list'])).stdout).toContain('No local models')
  }, 240_000)

  it('a cut download fails with a resume hint, and the next pull resumes it with a Range request', async () => {
    const p = await project(CONFIG)
    hub.cutNextAfter(50_000)
    const cut = await p.run(['models', 'pull', `hf:${REPO}/${FILE}`], { env: env() })
    expect(cut.code).not.toBe(0)
    expect(cut.stderr).not.toMatch(STACK_LINE)
    expect(cut.stderr).toMatch(/error TAU_LOCAL_DOWNLOAD: .*run the same command again to resume/)
    const partial = `${modelPath(p.tauHome)}.partial`
    const kept = (await stat(partial)).size
    expect(kept).toBeGreaterThanOrEqual(50_000)
    const resumed = await p.run(['models', 'pull', `hf:${REPO}/${FILE}`], { env: env() })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toContain('(resumed at')
    expect(hub.requests.some((r) => r.range === `bytes=${kept}-`)).toBe(true)
    expect(await readFile(modelPath(p.tauHome))).toEqual(MODEL)
    expect(existsSync(partial)).toBe(false)
  })

  it('a checksum mismatch removes the download', async () => {
    const p = await project(CONFIG)
    hub.lieAboutHash('0'.repeat(64))
    try {
      const bad = await p.run(['models', 'pull', `hf:${REPO}/${FILE}`], { env: env() })
      expect(bad.code).not.toBe(0)
      expect(bad.stderr).toMatch(
        /error TAU_LOCAL_CHECKSUM: .*SHA-256 [0-9a-f]{64} does not match the hub's 0{64}/,
      )
      expect(existsSync(modelPath(p.tauHome))).toBe(false)
      expect(existsSync(`${modelPath(p.tauHome)}.partial`)).toBe(false)
    } finally {
      hub.lieAboutHash(undefined)
    }
  })

  it('a stalled download times out with a clear error', async () => {
    const p = await project({
      'tau.config.json': JSON.stringify({ providers: { local: { downloadIdleTimeoutMs: 600 } } }),
    })
    hub.stall(true)
    try {
      const stalled = await p.run(['models', 'pull', `hf:${REPO}/${FILE}`], { env: env() })
      expect(stalled.code).not.toBe(0)
      expect(stalled.stderr).toMatch(/error TAU_LOCAL_DOWNLOAD: .* sent nothing for 1 s .*resume/)
      expect(stalled.stderr).not.toMatch(STACK_LINE)
    } finally {
      hub.stall(false)
    }
  })

  it('an unknown quantisation or repository says what there is', async () => {
    const p = await project()
    const quant = await p.run(['models', 'pull', `hf:${REPO}:Q2_K`], { env: env() })
    expect(quant.stderr).toContain(
      `has no GGUF file of the quantisation Q2_K; it has: ${FILE}, other-Q4_K_M.gguf`,
    )
    const repo = await p.run(['models', 'pull', 'hf:nobody/nothing:Q4_K_M'], { env: env() })
    expect(repo.stderr).toContain('there is no repository nobody/nothing')
    const bad = await p.run(['models', 'pull', 'hf:just-a-name'], { env: env() })
    expect(bad.stderr).toMatch(/error TAU_LOCAL_REF_INVALID: /)
    for (const r of [quant, repo, bad]) expect(r.code).not.toBe(0)
  })
})

describe('tau start with a local model', () => {
  it('with no model and none downloaded, says how to get one', async () => {
    const p = await project()
    const run = await p.run(['start', '-p', 'hi'])
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('tau models pull hf:')
    expect(run.stderr).toContain('scripted:demo')
    expect(run.stderr).not.toMatch(STACK_LINE)
  })

  it('a missing, a corrupt and a foreign model file are clear errors', async () => {
    const p = await project({ ...CONFIG, 'junk.gguf': 'not a model' })
    const { writeTinyGguf } = await import('./tiny-gguf.js')
    await writeTinyGguf(p.path('alien.gguf'), { architecture: 'tau-alien' })
    const cases: Array<[string, RegExp]> = [
      ['local:./missing.gguf', /tau: no model file at .*missing\.gguf: check the path/],
      [
        'local:./junk.gguf',
        /tau: .*junk\.gguf is not a usable GGUF model: it does not start with the GGUF magic bytes \(not a GGUF file\); download it again/,
      ],
      [
        'local:./alien.gguf',
        /tau: .*alien\.gguf: llama\.cpp cannot run the model architecture 'tau-alien'; use a GGUF of an architecture it supports/,
      ],
    ]
    for (const [model, expected] of cases) {
      const run = await p.run(['start', '-p', 'hi', '--model', model])
      expect(run.code, model).not.toBe(0)
      expect(run.stdout + run.stderr).toMatch(expected)
      expect(run.stderr).not.toMatch(STACK_LINE)
    }
    // Three runs under run-tau's hang limit each: on a busy machine one took over a minute.
  }, 360_000)
})

/** Every .jsonl file under dir, recursively. */
async function jsonlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  return entries.filter((e) => e.isFile() && e.name.endsWith('.jsonl')).map((e) => join(e.parentPath, e.name))
}

describe('tau start -p with a local model: Ctrl-C mid-generation', () => {
  it('SIGINT stops the generation at once: exit 130, an aborted result, no stack, a whole transcript', async () => {
    const p = await project(CONFIG)
    await writeFile(p.path('babble.gguf'), buildTinyGguf({ weights: 'random', neverEnds: true, ctx: 32768 }))
    const tau = p.spawn(
      [
        'start',
        '-p',
        'Tell me a long story.',
        '--model',
        'local:./babble.gguf',
        '--tools',
        '',
        '--output-format',
        'stream-json',
        '--verbose',
        '--include-partial-messages',
      ],
      { timeoutMs: 2 * HANG_LIMIT_MS },
    )
    // Text is streaming: the model is mid-generation (it never ends on its own).
    const deadline = Date.now() + HANG_LIMIT_MS
    while (!/"text_delta"/.test(tau.output()) && !tau.exited && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    expect(tau.exited, tau.output()).toBe(false)
    expect(tau.output()).toMatch(/"text_delta"/)
    tau.child.kill('SIGINT')
    const result = await tau.result
    expect(result.timedOut, tau.output()).toBe(false)
    expect(result.code, tau.output()).toBe(130)
    expect(result.stderr).not.toMatch(STACK_LINE)
    const lines = result.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { type: string; terminal_reason?: string; is_error?: boolean })
    expect(lines.at(-1)).toMatchObject({ type: 'result', is_error: true, terminal_reason: 'aborted' })
    // The session's log is whole: every line of every transcript parses.
    const files = await jsonlFiles(join(p.tauHome, 'projects'))
    expect(files.length).toBeGreaterThan(0)
    for (const file of files)
      for (const line of (await readFile(file, 'utf8')).split('\n').filter((l) => l !== ''))
        expect(() => JSON.parse(line), `${file}: ${line}`).not.toThrow()
  }, 360_000)
})
