/**
 * The local provider on the real node-llama-cpp (CPU build, one thread) with tiny GGUF models
 * written by tiny-gguf.ts: a scripted one that makes a deterministic tool call and answers after
 * the result, and a random one for streaming, max tokens, abort and concurrent runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  collectStream,
  createLogger,
  type LogRecord,
  type Message,
  type ModelRequest,
  type StreamEvent,
  type ToolDefinition,
} from '../../../kernel/index.js'
import {
  LocalBackend,
  LocalProvider,
  type NodeLlamaCppImporter,
} from '../../../plugins/provider-local/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { writeTinyGguf } from './tiny-gguf.js'

let dir: string
let scripted: string
let random: string
let jsonScripted: string
const logs: LogRecord[] = []
const logger = createLogger('provider-local', { level: 'debug', sink: (record) => logs.push(record) })
let backend: LocalBackend
let provider: LocalProvider
let auto: LocalProvider

const READ: ToolDefinition = {
  name: 'Read',
  description: 'Read a file',
  inputSchema: {
    type: 'object',
    properties: {
      file_path: { type: 'string', description: 'the file' },
      offset: { type: 'integer', minimum: 1 },
      limit: { type: 'integer' },
    },
    required: ['file_path'],
    additionalProperties: false,
  },
}

function request(model: string, messages: Message[], extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: { provider: 'local', model }, messages, ...extra }
}

async function events(iterable: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = []
  for await (const event of iterable) out.push(event)
  return out
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-local-'))
  scripted = await writeTinyGguf(join(dir, 'scripted.gguf'), {
    weights: 'scripted',
    value: 'notes.txt',
    answer: 'The notes say hello.',
  })
  random = await writeTinyGguf(join(dir, 'random.gguf'), { weights: 'random' })
  jsonScripted = await writeTinyGguf(join(dir, 'json-scripted.gguf'), {
    weights: 'scripted',
    value: 'notes.txt',
    answer: 'The notes say hello.',
    resultMarker: '<tool_result',
  })
  backend = new LocalBackend({ gpu: false, threads: 1, contextSize: 4096, sequences: 2, logger })
  provider = new LocalProvider(
    backend,
    // The tiny models' ChatML template has no tool syntax: `template` keeps node-llama-cpp's `||call:`.
    { modelsDir: join(dir, 'models'), cwd: dir, contextSize: 4096, toolFormat: 'template' },
    logger,
  )
  auto = new LocalProvider(backend, { modelsDir: join(dir, 'models'), cwd: dir, contextSize: 4096 }, logger)
})

afterAll(async () => {
  await provider?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('local provider: tools run by tau', () => {
  it('the scripted model calls the tool (optional arguments left out) and answers after its result', async () => {
    const messages: Message[] = [
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'What do the notes say?' },
    ]
    const first = await collectStream(
      { provider: 'local', model: scripted },
      provider.stream(request(scripted, messages, { tools: [READ] })),
    )
    expect(first.finishReason).toBe('tool-calls')
    const call = first.message.content.find((part) => part.type === 'tool-call')
    expect(call).toMatchObject({ type: 'tool-call', name: 'Read', input: { file_path: 'notes.txt' } })
    expect(first.usage.inputTokens).toBeGreaterThan(50)
    expect(first.usage.outputTokens).toBeGreaterThan(0)
    if (call?.type !== 'tool-call') throw new Error('no tool call')
    const second = await collectStream(
      { provider: 'local', model: scripted },
      provider.stream(
        request(
          scripted,
          [
            ...messages,
            first.message,
            {
              role: 'tool',
              content: [
                {
                  type: 'tool-result',
                  toolCallId: call.id,
                  toolName: 'Read',
                  content: [{ type: 'text', text: 'hello' }],
                },
              ],
            },
          ],
          { tools: [READ] },
        ),
      ),
    )
    expect(second.finishReason).toBe('stop')
    expect(second.message.content).toEqual([{ type: 'text', text: 'The notes say hello.' }])
  })

  it('reads capabilities from the GGUF metadata, with the context capped by config', async () => {
    expect(await provider.capabilities(scripted)).toMatchObject({
      contextWindow: 2048,
      tools: true,
      vision: false,
    })
    const big = await writeTinyGguf(join(dir, 'big-ctx.gguf'), { ctx: 131_072 })
    expect((await provider.capabilities(big)).contextWindow).toBe(4096)
  })
})

describe("local provider: a template without tools gets tau's JSON tool format", () => {
  it('the grammar makes the call a JSON object of a declared tool, and the answer streams after its result', async () => {
    const messages: Message[] = [
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'What do the notes say?' },
    ]
    const before = logs.length
    const first = await collectStream(
      { provider: 'local', model: jsonScripted },
      auto.stream(request(jsonScripted, messages, { tools: [READ] })),
    )
    expect(first.finishReason).toBe('tool-calls')
    const call = first.message.content.find((part) => part.type === 'tool-call')
    // offset and limit are optional: the grammar writes them as null, and tau drops the nulls.
    expect(call).toMatchObject({ type: 'tool-call', name: 'Read', input: { file_path: 'notes.txt' } })
    if (call?.type !== 'tool-call') throw new Error('no tool call')
    expect(Object.keys(call.input as object)).toEqual(['file_path'])
    expect(first.message.content.some((part) => part.type === 'text')).toBe(false)
    expect(
      logs.slice(before).some((r) => r.message === 'local model call' && r.fields?.toolFormat === 'json'),
    ).toBe(true)
    const second = await events(
      auto.stream(
        request(
          jsonScripted,
          [
            ...messages,
            first.message,
            {
              role: 'tool',
              content: [
                {
                  type: 'tool-result',
                  toolCallId: call.id,
                  toolName: 'Read',
                  content: [{ type: 'text', text: 'hello' }],
                },
              ],
            },
          ],
          { tools: [READ] },
        ),
      ),
    )
    const text = second.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('')
    expect(text).toBe('The notes say hello.')
    expect(second.at(-1)).toEqual({ type: 'finish', reason: 'stop' })
    expect(second.some((e) => e.type === 'tool-call-start')).toBe(false)
  })

  it('toolFormat json applies to any model, and a model without tools offered answers in plain text', async () => {
    const json = new LocalProvider(
      backend,
      { modelsDir: join(dir, 'models'), cwd: dir, contextSize: 4096, toolFormat: 'json' },
      logger,
    )
    const out = await collectStream(
      { provider: 'local', model: jsonScripted },
      json.stream(
        request(jsonScripted, [{ role: 'user', content: 'What do the notes say?' }], { tools: [READ] }),
      ),
    )
    expect(out.message.content.find((part) => part.type === 'tool-call')).toMatchObject({
      name: 'Read',
      input: { file_path: 'notes.txt' },
    })
    // No tools: no grammar, the scripted model's plain turn (`||call:` ends it; control text is dropped).
    const plain = await collectStream(
      { provider: 'local', model: jsonScripted },
      json.stream(request(jsonScripted, [{ role: 'user', content: 'hi' }])),
    )
    expect(plain.finishReason).toBe('stop')
    expect(plain.message.content.some((part) => part.type === 'tool-call')).toBe(false)
  })
})

describe('local provider: generation', () => {
  it('streams text in several deltas and stops at max tokens', async () => {
    const out = await events(
      provider.stream(
        request(random, [{ role: 'user', content: 'Hello, who are you?' }], { maxOutputTokens: 24 }),
      ),
    )
    const deltas = out.filter((e) => e.type === 'text-delta')
    expect(deltas.length).toBeGreaterThan(1)
    expect(out.at(-1)).toEqual({ type: 'finish', reason: 'length' })
    const usage = out.find((e) => e.type === 'usage')
    expect(usage).toMatchObject({ type: 'usage', usage: { outputTokens: 24 } })
  })

  it('an abort mid-generation ends the stream with an aborted error, and the sequence is free again', async () => {
    const controller = new AbortController()
    const seen: StreamEvent[] = []
    const run = (async () => {
      for await (const event of provider.stream(
        request(random, [{ role: 'user', content: 'Tell me a long story.' }], { maxOutputTokens: 100_000 }),
        { signal: controller.signal },
      )) {
        seen.push(event)
        if (seen.length === 3) controller.abort()
      }
    })()
    await expect(run).rejects.toMatchObject({ kind: 'aborted', code: 'TAU_PROVIDER_ABORTED' })
    expect(seen.length).toBeGreaterThanOrEqual(3)
    // Both sequences are usable afterwards: two runs at once finish.
    const [a, b] = await Promise.all([
      events(provider.stream(request(random, [{ role: 'user', content: 'one' }], { maxOutputTokens: 8 }))),
      events(provider.stream(request(random, [{ role: 'user', content: 'two' }], { maxOutputTokens: 8 }))),
    ])
    expect(a.at(-1)).toEqual({ type: 'finish', reason: 'length' })
    expect(b.at(-1)).toEqual({ type: 'finish', reason: 'length' })
  })

  it('a third concurrent run waits for a free sequence instead of failing', async () => {
    const runs = ['a', 'b', 'c'].map((text) =>
      events(provider.stream(request(random, [{ role: 'user', content: text }], { maxOutputTokens: 6 }))),
    )
    for (const run of await Promise.all(runs))
      expect(run.at(-1)).toEqual({ type: 'finish', reason: 'length' })
  })
})

describe('local provider: clear errors', () => {
  const run = (model: string) => events(provider.stream(request(model, [{ role: 'user', content: 'hi' }])))

  it('a missing file', async () => {
    await expect(run(join(dir, 'nope.gguf'))).rejects.toMatchObject({
      code: 'TAU_LOCAL_MODEL_MISSING',
      plugin: 'provider-local',
      message: expect.stringContaining('nope.gguf'),
    })
  })

  it('an hf: model that is not downloaded names the pull command', async () => {
    await expect(run('hf:someone/some-repo:Q4_K_M')).rejects.toMatchObject({
      code: 'TAU_LOCAL_MODEL_MISSING',
      message: expect.stringContaining('tau models pull hf:someone/some-repo:Q4_K_M'),
    })
  })

  it('a corrupt file (not GGUF, and GGUF cut short)', async () => {
    const junk = join(dir, 'junk.gguf')
    await writeFile(junk, 'this is not a model at all')
    await expect(run(junk)).rejects.toMatchObject({
      code: 'TAU_LOCAL_MODEL_INVALID',
      message: expect.stringContaining('not a GGUF file'),
    })
    const cut = join(dir, 'cut.gguf')
    const { buildTinyGguf } = await import('./tiny-gguf.js')
    await writeFile(cut, buildTinyGguf().subarray(0, 2000))
    await expect(run(cut)).rejects.toMatchObject({
      code: 'TAU_LOCAL_MODEL_INVALID',
      message: expect.stringContaining('truncated'),
    })
  })

  it("a GGUF whose tensors are cut off fails to load with llama.cpp's reason, its log routed to tau's logger", async () => {
    const { buildTinyGguf } = await import('./tiny-gguf.js')
    const whole = buildTinyGguf()
    const path = join(dir, 'no-tensors.gguf')
    await writeFile(path, whole.subarray(0, whole.length - 4096))
    const error = await run(path).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'TAU_LOCAL_MODEL_LOAD', plugin: 'provider-local' })
    // llama.cpp's own reason reaches tau's logger and the message.
    const deadline = Date.now() + HANG_LIMIT_MS
    while (!logs.some((record) => record.message.startsWith('llama.cpp: ')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20))
    expect(logs.some((record) => record.message.startsWith('llama.cpp: '))).toBe(true)
  })

  it('an unsupported architecture', async () => {
    const path = await writeTinyGguf(join(dir, 'alien.gguf'), { architecture: 'tau-alien' })
    await expect(run(path)).rejects.toMatchObject({
      code: 'TAU_LOCAL_MODEL_UNSUPPORTED',
      message: expect.stringContaining("'tau-alien'"),
    })
  })

  it('a conversation longer than the context is a context-length error (tau compacts), not cut silently', async () => {
    const small = await writeTinyGguf(join(dir, 'small-ctx.gguf'), { ctx: 256 })
    await expect(
      events(
        provider.stream(
          request(small, [{ role: 'user', content: 'x '.repeat(400) }], { maxOutputTokens: 8 }),
        ),
      ),
    ).rejects.toMatchObject({ kind: 'context-length', code: 'TAU_PROVIDER_CONTEXT_LENGTH' })
  })

  it('node-llama-cpp not installed names the install command', async () => {
    const importer: NodeLlamaCppImporter = () => import(`node-llama-cpp-${'missing'}-for-this-test`)
    const missing = new LocalBackend({
      gpu: false,
      threads: 1,
      contextSize: 2048,
      sequences: 1,
      logger,
      importer,
    })
    const without = new LocalProvider(missing, { modelsDir: dir, cwd: dir, contextSize: 2048 }, logger)
    await expect(
      events(without.stream(request(random, [{ role: 'user', content: 'hi' }]))),
    ).rejects.toMatchObject({
      code: 'TAU_LOCAL_NOT_INSTALLED',
      message: expect.stringContaining('npm i -E node-llama-cpp@3.21.1'),
    })
  })
})
