/**
 * What the benchmarks share: loading a module from dist/ (or the sources, through jiti), and the
 * timing loop with its statistics. Figures belong in docs/benchmarks.md, measured on an idle
 * machine.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))

/** A module of the repository by its path without extension: built when dist/ has it. */
export async function load(relative) {
  const built = join(root, 'dist', `${relative}.js`)
  if (existsSync(built)) return { module: await import(built), from: 'dist' }
  const { createJiti } = await import('jiti')
  const jiti = createJiti(import.meta.url)
  return { module: await jiti.import(join(root, `${relative}.ts`)), from: 'sources (jiti)' }
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.floor(values.length * p)]

/** Milliseconds of one call. */
export async function timeOnce(fn) {
  const start = performance.now()
  const result = await fn()
  return { result, ms: performance.now() - start }
}

/** `warmup` untimed calls (the first one's result is returned), then `runs` timed ones. */
export async function measure(fn, { runs, warmup = 1 }) {
  let result
  for (let i = 0; i < warmup; i++) {
    const r = await fn()
    if (i === 0) result = r
  }
  const times = []
  for (let i = 0; i < runs; i++) times.push((await timeOnce(fn)).ms)
  return { result, times, ms: median(times), min: Math.min(...times), max: Math.max(...times) }
}
