#!/usr/bin/env node
/**
 * Overhead of a workflow step against calling the same agent runs directly, in one process, on
 * the built package (dist/), with the in-process scripted model (answers at once):
 *
 *   A (workflow)  a chain of N agent steps through orchestrate.service: each step is a step
 *                 boundary (log records, step-end synced to disk), a hub session (its own kernel
 *                 scope, system prompt section), one model call, the events forwarded.
 *   B (direct)    N agent runs made directly with agent.runtime, each in its own session and
 *                 kernel scope (what the hub does, without the workflow around it).
 *
 * Rounds alternate A and B; the figure is (median A - median B) / N per step (target: at most
 * +1 ms). Figures only, no assertions (see docs/benchmarks.md). The session plugin is not loaded
 * (neither side writes transcripts); TAU_HOME and the working directory are fresh temporary
 * directories; nothing leaves the process.
 *
 * Usage: node bench/orchestrate.mjs [rounds] [steps]   (needs npm run build; default 7 rounds, 20 steps)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'

const rounds = Number(process.argv[2] ?? 7)
const steps = Number(process.argv[3] ?? 20)
const dist = new URL('../dist/', import.meta.url)
const { createTestKernel } = await import(new URL('sdk/testing.js', dist).href)
const { default: providerScripted, scriptedProviderRef } = await import(
  new URL('plugins/provider-scripted/index.js', dist).href
)
const orchestrateModule = await import(new URL('plugins/orchestrate/index.js', dist).href)
const { default: orchestrate, agent, chain, defineWorkflow, orchestratorRef } = orchestrateModule
const { agentRuntimeRef } = await import(new URL('plugins/agent/index.js', dist).href)

const home = mkdtempSync(join(tmpdir(), 'tau-bench-orch-home-'))
const cwd = mkdtempSync(join(tmpdir(), 'tau-bench-orch-cwd-'))
const kernel = await createTestKernel({
  plugins: [providerScripted, orchestrate],
  config: {
    model: 'scripted:bench',
    orchestrate: { agents: { w: { description: 'bench', prompt: 'You answer.', tools: [] } } },
  },
  cwd,
  tauHome: home,
  logLevel: 'warn',
})
const scripted = kernel.resolve(scriptedProviderRef)
const orchestrator = kernel.resolve(orchestratorRef)
const runtime = kernel.resolve(agentRuntimeRef)
const workflow = defineWorkflow({
  name: 'bench',
  input: z.string(),
  run: chain(
    Array.from({ length: steps }, (_, i) => agent({ agent: 'w', name: `s${i}`, prompt: () => `step ${i}` })),
  ),
})
const answers = () => scripted.push(...Array.from({ length: steps }, () => ({ text: 'ok' })))

async function viaWorkflow() {
  answers()
  const started = performance.now()
  const run = await orchestrator.run(workflow, 'go')
  for await (const _ of run) {
    // drain the stream, as a frontend would
  }
  const outcome = await run.done
  if (outcome.isError) throw new Error(outcome.error.message)
  return performance.now() - started
}

async function direct() {
  answers()
  const started = performance.now()
  for (let i = 0; i < steps; i++) {
    const scope = kernel.createSession({ cwd })
    const session = runtime.createSession({ cwd, scope, model: 'scripted:bench' })
    for await (const _ of session.run(`step ${i}`)) {
      // drain
    }
    await session.close()
    await scope.dispose()
  }
  return performance.now() - started
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
await viaWorkflow()
await direct()
const a = []
const b = []
for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) {
    a.push(await viaWorkflow())
    b.push(await direct())
  } else {
    b.push(await direct())
    a.push(await viaWorkflow())
  }
}
await kernel.stop()
rmSync(home, { recursive: true, force: true })
rmSync(cwd, { recursive: true, force: true })
const perStep = (median(a) - median(b)) / steps
process.stdout.write(
  [
    `orchestrate: ${rounds} rounds of ${steps} agent steps (load ${loadavg()[0].toFixed(1)})`,
    `  workflow  median ${median(a).toFixed(1)} ms (${(median(a) / steps).toFixed(2)} ms/step)`,
    `  direct    median ${median(b).toFixed(1)} ms (${(median(b) / steps).toFixed(2)} ms/step)`,
    `  overhead  ${perStep >= 0 ? '+' : ''}${perStep.toFixed(2)} ms per step (target: at most +1 ms)`,
    '',
  ].join('\n'),
)
