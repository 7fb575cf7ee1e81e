#!/usr/bin/env node
/**
 * Overhead of a workflow step against calling the same agent runs directly, in one process, on
 * the built package (dist/), with the in-process scripted model (answers at once):
 *
 *   A (workflow)  a chain of N agent steps through orchestrate.service: each step is a step
 *                 boundary (log records, step-end fdatasync'd overlapped: the default durability
 *                 'step'), a hub session (its own kernel scope, system prompt section), one model
 *                 call, the events forwarded.
 *   B (direct)    N agent runs made directly with agent.runtime, each in its own session and
 *                 kernel scope (what the hub does, without the workflow around it).
 *   A' (off)      A with orchestrate.durability 'off' (no fdatasync at all), in a second kernel.
 *
 * Each round runs every arm once, the order turning from round to round; the figure is
 * (median A - median B) / N per step, and the median over rounds of (A - B) / N (target: at most
 * +1 ms). Figures only, no assertions (see docs/benchmarks.md). The session plugin is not loaded
 * (neither side writes transcripts); TAU_HOME and the working directory are fresh temporary
 * directories; nothing leaves the process.
 *
 * Then the boundary alone: a chain of N function steps against the N functions called directly,
 * under durability step, sync and off (no model call, no session: the engine's own cost).
 *
 * Usage: node bench/orchestrate.mjs [rounds] [steps]   (needs npm run build; default 7 rounds, 20 steps)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { median } from './timing.mjs'

const rounds = Number(process.argv[2] ?? 7)
const steps = Number(process.argv[3] ?? 20)
const dist = new URL('../dist/', import.meta.url)
const { createTestKernel } = await import(new URL('sdk/testing.js', dist).href)
const { default: providerScripted, scriptedProviderRef } = await import(
  new URL('plugins/provider-scripted/index.js', dist).href
)
const orchestrateModule = await import(new URL('plugins/orchestrate/index.js', dist).href)
const { default: orchestrate, agent, chain, defineWorkflow, orchestratorRef, step } = orchestrateModule
const { agentRuntimeRef } = await import(new URL('plugins/agent/index.js', dist).href)
const { toolRegistryRef } = await import(new URL('plugins/tools/index.js', dist).href)

const home = mkdtempSync(join(tmpdir(), 'tau-bench-orch-home-'))
const cwd = mkdtempSync(join(tmpdir(), 'tau-bench-orch-cwd-'))
/** One kernel per durability: the mode is the plugin's config, fixed at boot. */
const kernelWith = (durability) =>
  createTestKernel({
    plugins: [providerScripted, orchestrate],
    config: {
      model: 'scripted:bench',
      orchestrate: {
        agents: { w: { description: 'bench', prompt: 'You answer.', tools: [] } },
        ...(durability ? { durability } : {}),
      },
    },
    cwd,
    tauHome: home,
    logLevel: 'warn',
  })
const kernel = await kernelWith(undefined)
const kernelOff = await kernelWith('off')
const kernelSync = await kernelWith('sync')
const orchestratorSync = kernelSync.resolve(orchestratorRef)
const scripted = kernel.resolve(scriptedProviderRef)
const scriptedOff = kernelOff.resolve(scriptedProviderRef)
const orchestrator = kernel.resolve(orchestratorRef)
const orchestratorOff = kernelOff.resolve(orchestratorRef)
const runtime = kernel.resolve(agentRuntimeRef)
const hidden = kernel
  .resolve(toolRegistryRef)
  .list()
  .map((tool) => tool.name)
const workflow = defineWorkflow({
  name: 'bench',
  input: z.string(),
  run: chain(
    Array.from({ length: steps }, (_, i) => agent({ agent: 'w', name: `s${i}`, prompt: () => `step ${i}` })),
  ),
})
const answers = (provider) => provider.push(...Array.from({ length: steps }, () => ({ text: 'ok' })))

/** Per arm: ms from the workflow-end event to `done` (the run's close waiting for the last sync). */
const closing = { step: [], off: [] }

async function viaWorkflow(service, provider, arm) {
  answers(provider)
  const started = performance.now()
  const run = await service.run(workflow, 'go')
  let ended = 0
  for await (const event of run) {
    // drain the stream, as a frontend would
    if (event.type === 'workflow-end') ended = performance.now()
  }
  const outcome = await run.done
  if (outcome.isError) throw new Error(outcome.error.message)
  const finished = performance.now()
  closing[arm].push(finished - ended)
  return finished - started
}

async function direct() {
  answers(scripted)
  const started = performance.now()
  for (let i = 0; i < steps; i++) {
    const scope = kernel.createSession({ cwd })
    // As the hub runs an agent with `tools: []`: every registered tool hidden.
    const session = runtime.createSession({ cwd, scope, model: 'scripted:bench', disallowedTools: hidden })
    for await (const _ of session.run(`step ${i}`)) {
      // drain
    }
    await session.close()
    await scope.dispose()
  }
  return performance.now() - started
}

const arms = {
  step: () => viaWorkflow(orchestrator, scripted, 'step'),
  off: () => viaWorkflow(orchestratorOff, scriptedOff, 'off'),
  direct,
}
const times = { step: [], off: [], direct: [] }
const loads = []
for (const arm of Object.values(arms)) await arm() // warm-up, untimed
closing.step.length = 0
closing.off.length = 0
for (let round = 0; round < rounds; round++) {
  // The order turns every round, so no arm always runs first (or right after another).
  const names = Object.keys(arms)
  const order = names.map((_, i) => names[(i + round) % names.length])
  for (const name of order) times[name].push(await arms[name]())
  loads.push(loadavg()[0])
}

// Part 2: the boundary alone. A chain of N function steps (no model, no session) against the N
// functions called directly: what the engine adds to each step (log records, their sync, hooks,
// events, the state), without the agent run's noise.
const fnWorkflow = defineWorkflow({
  name: 'bench-fn',
  input: z.string(),
  run: chain(Array.from({ length: steps }, (_, i) => step(`f${i}`, async (x) => `${x}.`))),
})
async function fnViaWorkflow(service) {
  const started = performance.now()
  const run = await service.run(fnWorkflow, 'go')
  for await (const _ of run) {
    // drain
  }
  const outcome = await run.done
  if (outcome.isError) throw new Error(outcome.error.message)
  return performance.now() - started
}
async function fnDirect() {
  const started = performance.now()
  let x = 'go'
  for (let i = 0; i < steps; i++) x = await (async (v) => `${v}.`)(x)
  return performance.now() - started
}
const fnArms = {
  step: () => fnViaWorkflow(orchestrator),
  sync: () => fnViaWorkflow(orchestratorSync),
  off: () => fnViaWorkflow(orchestratorOff),
  direct: fnDirect,
}
const fnTimes = { step: [], sync: [], off: [], direct: [] }
for (const arm of Object.values(fnArms)) await arm()
const fnRounds = rounds * 3
for (let round = 0; round < fnRounds; round++) {
  const names = Object.keys(fnArms)
  const order = names.map((_, i) => names[(i + round) % names.length])
  for (const name of order) fnTimes[name].push(await fnArms[name]())
  loads.push(loadavg()[0])
}
await kernelSync.stop()
await kernel.stop()
await kernelOff.stop()
rmSync(home, { recursive: true, force: true })
rmSync(cwd, { recursive: true, force: true })
const perStep = (arm) => (median(times[arm]) - median(times.direct)) / steps
// Per round (the arms ran back to back), so a load that drifts between rounds cancels out.
const paired = (arm) => median(times[arm].map((t, i) => t - times.direct[i])) / steps
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`
const line = (label, arm) =>
  `  ${label.padEnd(24)} median ${median(times[arm]).toFixed(1)} ms (${(median(times[arm]) / steps).toFixed(2)} ms/step)` +
  (arm === 'direct'
    ? ''
    : `, overhead ${signed(perStep(arm))} ms/step (paired by round ${signed(paired(arm))}); the run's end waits ${median(closing[arm]).toFixed(1)} ms for its log`)
process.stdout.write(
  [
    `orchestrate: ${rounds} rounds of ${steps} agent steps, arms alternating (load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}, Node ${process.versions.node})`,
    line('workflow, durability step', 'step'),
    line('workflow, durability off', 'off'),
    line('direct runs', 'direct'),
    `the boundary alone: ${fnRounds} rounds of ${steps} function steps`,
    ...['step', 'sync', 'off'].map(
      (arm) =>
        `  ${`durability ${arm}`.padEnd(24)} median ${median(fnTimes[arm]).toFixed(1)} ms per run, ${signed((median(fnTimes[arm]) - median(fnTimes.direct)) / steps)} ms/step over the direct calls (${median(fnTimes.direct).toFixed(2)} ms per run)`,
    ),
    '  target: at most +1 ms per step',
    '',
  ].join('\n'),
)
