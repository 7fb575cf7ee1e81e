/**
 * In-process kernel boot: createKernel({ plugins, config }) + start() + stop() with 10, 100 and
 * 1,000 no-op plugins. Each plugin provides one service and taps `kernel.start`; every third one
 * depends on the plugin before it and on the one at half its index. Plugins are registered
 * newest-first, so the topological sort has to move every dependent behind its dependencies.
 *
 * The second group is the same boot with plugins that also tap `kernel.stop` and return a
 * teardown, as most real plugins do.
 *
 * Cost should grow linearly with the plugin count, so besides vitest's own table this prints the
 * median time per plugin for each size. No assertions: figures only (see docs/benchmarks.md).
 *
 * Run alone: npx vitest bench --run bench/kernel-boot.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, bench, describe } from 'vitest'
import { createKernel, definePlugin, defineService, type TauPlugin } from '../kernel/index.js'

/** Plugin counts; TAU_BENCH_SIZES=1000,2000,4000 overrides them to probe the growth further. */
const SIZES: readonly number[] = process.env.TAU_BENCH_SIZES
  ? process.env.TAU_BENCH_SIZES.split(',').map(Number)
  : [10, 100, 1_000]

// Benches never touch the real home directory.
const home = mkdtempSync(join(tmpdir(), 'tau-bench-home-'))
const cwd = mkdtempSync(join(tmpdir(), 'tau-bench-cwd-'))
process.env.TAU_HOME = home

interface Shape {
  /** Also tap kernel.stop and return a teardown. */
  readonly stop: boolean
}

function makePlugins(count: number, shape: Shape): TauPlugin[] {
  const plugins: TauPlugin[] = []
  for (let i = 0; i < count; i++) {
    const name = `bench-${i}`
    const ref = defineService<{ readonly index: number }>(`${name}.service`)
    const dependsOn = i > 0 && i % 3 === 0 ? [...new Set([`bench-${i - 1}`, `bench-${i >> 1}`])] : []
    plugins.push(
      definePlugin({
        name,
        dependsOn,
        setup(ctx) {
          ctx.provide(ref, { index: i })
          ctx.hooks.start.tap(() => {})
          if (!shape.stop) return
          ctx.hooks.stop.tap(() => {})
          return () => {}
        },
      }),
    )
  }
  return plugins.reverse()
}

async function boot(plugins: readonly TauPlugin[]): Promise<void> {
  const kernel = createKernel({ plugins, config: {}, paths: { cwd, tauHome: home } })
  await kernel.start()
  await kernel.stop()
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Samples of every bench, keyed by group then size, for the per-plugin summary. */
const samples = new Map<string, Map<number, number[]>>()

function group(title: string, shape: Shape): void {
  const bySize = new Map<number, number[]>()
  samples.set(title, bySize)
  describe(title, () => {
    for (const size of SIZES) {
      const plugins = makePlugins(size, shape)
      const times: number[] = []
      bySize.set(size, times)
      bench(
        `${size} plugins`,
        async () => {
          const started = performance.now()
          await boot(plugins)
          times.push(performance.now() - started)
        },
        {
          time: 1_000,
          warmupTime: 200,
          // Keep only the measured runs, not the warm-up ones.
          setup: (_task, mode) => {
            if (mode === 'run') times.length = 0
          },
        },
      )
    }
  })
}

group('kernel boot: provide a service, tap start', { stop: false })
group('kernel boot: also tap stop and return a teardown', { stop: true })

afterAll(() => {
  const lines = ['', 'kernel boot, median per run and per plugin (create + start + stop):']
  for (const [title, bySize] of samples) {
    lines.push(`  ${title}`)
    const smallest = SIZES[0] ?? 0
    const base = median(bySize.get(smallest) ?? [])
    for (const size of SIZES) {
      const times = bySize.get(size) ?? []
      if (times.length === 0) continue
      const m = median(times)
      const perPlugin = (m / size) * 1_000
      const growth = base > 0 ? `${(m / base).toFixed(1)}x the ${smallest}-plugin time` : ''
      lines.push(
        `    ${String(size).padStart(5)} plugins: ${m.toFixed(3).padStart(8)} ms/run  ${perPlugin.toFixed(1).padStart(6)} us/plugin  ${growth}  (${times.length} runs)`,
      )
    }
  }
  process.stdout.write(`${lines.join('\n')}\n\n`)
  rmSync(home, { recursive: true, force: true })
  rmSync(cwd, { recursive: true, force: true })
})
