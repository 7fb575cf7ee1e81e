// The local provider's costs on this machine: node-llama-cpp's import and getLlama(), model load and
// context creation, time to first token and decode speed for the tiny generated model and a
// 26M-parameter one, at 1 and 2 threads and at node-llama-cpp's own default. Models are written
// by test/plugins/provider-local/tiny-gguf.ts (random weights, no download). Run once, not in a
// loop (the CPU is shared):
//   node bench/local-model.mjs
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createJiti } from 'jiti'

const jiti = createJiti(import.meta.url)
const { writeTinyGguf } = await jiti.import('../test/plugins/provider-local/tiny-gguf.ts')
const PROMPT = 'The quick brown fox jumps over the lazy dog. '.repeat(3)
const dir = await mkdtemp(join(tmpdir(), 'tau-bench-local-'))
const ms = (t) => `${t.toFixed(t < 10 ? 2 : 0)} ms`

try {
  const models = {
    'tiny (128K params, 0.5 MB)': await writeTinyGguf(join(dir, 'tiny.gguf'), { weights: 'random' }),
    '26M params (104 MB)': await writeTinyGguf(join(dir, '26m.gguf'), {
      weights: 'random',
      embd: 512,
      layers: 8,
      heads: 8,
      ff: 1408,
    }),
  }
  let t = performance.now()
  const lib = await import('node-llama-cpp')
  const importMs = performance.now() - t
  t = performance.now()
  const llama = await lib.getLlama({ gpu: false, logLevel: lib.LlamaLogLevel.error, logger: () => undefined })
  const getLlamaMs = performance.now() - t
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, node-llama-cpp ${await lib.getModuleVersion()}`,
  )
  console.log(`import('node-llama-cpp') ${ms(importMs)}, getLlama({ gpu: false }) ${ms(getLlamaMs)}`)
  console.log(`node-llama-cpp's default thread count here: ${llama.maxThreads}\n`)
  console.log('| model | threads | load | context | first token | per token | tokens/s |')
  console.log('|---|---|---|---|---|---|---|')
  for (const [name, path] of Object.entries(models)) {
    t = performance.now()
    const model = await llama.loadModel({ modelPath: path })
    const loadMs = performance.now() - t
    const prompt = model.tokenize(PROMPT)
    for (const threads of [1, 2, undefined]) {
      t = performance.now()
      const context = await model.createContext({ contextSize: 512, ...(threads ? { threads } : {}) })
      const contextMs = performance.now() - t
      const sequence = context.getSequence()
      // Fewer tokens at the default: it is 20-400x slower on 2 cores.
      const tokens = threads === undefined ? 8 : 64
      let first = 0
      let n = 0
      t = performance.now()
      for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
        if (n === 0) first = performance.now() - t
        if (++n >= tokens) break
      }
      const perToken = (performance.now() - t - first) / (n - 1)
      console.log(
        `| ${name} | ${threads ?? `default (${context.currentThreads})`} | ${ms(loadMs)} | ${ms(contextMs)} | ${ms(first)} | ${ms(perToken)} | ${(1000 / perToken).toFixed(perToken > 100 ? 2 : 0)} |`,
      )
      await context.dispose()
    }
    await model.dispose()
  }
  await llama.dispose()
} finally {
  await rm(dir, { recursive: true, force: true })
}
