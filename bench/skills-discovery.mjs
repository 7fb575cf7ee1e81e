#!/usr/bin/env node
/**
 * Discovery of 1,000 skills: 1,000 SKILL.md folders (YAML frontmatter, a short body, a few with
 * problems) in a temporary directory, discovered and parsed by plugins/skills/discovery.ts, plus
 * the BM25 index over them and one ranking. Prints the median wall time of RUNS runs after one
 * warm-up (target: discovery under 200 ms). Figures only, no assertions (see docs/benchmarks.md).
 *
 * Usage: node bench/skills-discovery.mjs [runs] [count]     (default 7 runs, 1000 skills)
 * Loads dist/ when built (npm run build), else the TypeScript sources through jiti.
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const runs = Number(process.argv[2] ?? 7)
const count = Number(process.argv[3] ?? 1000)
const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'tau-bench-skills-'))
process.env.TAU_HOME = join(work, 'home')

async function load(relative) {
  const built = join(root, 'dist', `${relative}.js`)
  if (existsSync(built)) return { module: await import(built), from: 'dist' }
  const { createJiti } = await import('jiti')
  const jiti = createJiti(import.meta.url)
  return { module: await jiti.import(join(root, `${relative}.ts`)), from: 'sources (jiti)' }
}

const words =
  'pdf excel csv docker deploy kubernetes terraform test lint format review commit release docs api graphql sql migrate cache queue'.split(
    ' ',
  )
try {
  const { module: discovery, from } = await load('plugins/skills/discovery')
  const { module: bm25 } = await load('plugins/skills/bm25')
  const dirs = [join(work, 'project'), join(work, 'user')]
  for (let i = 0; i < count; i++) {
    const name = `skill-${String(i).padStart(4, '0')}`
    const dir = join(dirs[i % 2], name)
    mkdirSync(dir, { recursive: true })
    const topic = `${words[i % words.length]} ${words[(i * 7) % words.length]}`
    const description =
      i % 100 === 0
        ? 'x'.repeat(1100)
        : `Helps with ${topic} tasks: when the user asks about ${topic}, use this skill.`
    writeFileSync(
      join(dir, 'SKILL.md'),
      `---\nname: ${name}\ndescription: ${JSON.stringify(description)}\nlicense: MIT\nmetadata:\n  version: "1.${i}"\nallowed-tools: Read Grep Bash(git:*)\n---\n# ${name}\n\n${'Step by step instructions. '.repeat(40)}\n`,
    )
  }
  const directories = [
    { dir: dirs[0], source: 'project' },
    { dir: dirs[1], source: 'user' },
  ]
  const time = async () => {
    const start = performance.now()
    const index = await discovery.discoverSkills(directories)
    const discovered = performance.now() - start
    const ranker = new bm25.Bm25Index(
      index.skills.map((s) => ({ id: s.name, text: `${s.name} ${s.meta.description}` })),
    )
    ranker.rank('deploy the docker image with terraform')
    return {
      discovered,
      total: performance.now() - start,
      skills: index.skills.length,
      problems: index.all.filter((s) => s.problems.length > 0).length,
    }
  }
  await time()
  const results = []
  for (let i = 0; i < runs; i++) results.push(await time())
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const last = results.at(-1)
  console.log(`skills discovery (${from}), ${count} SKILL.md files, ${runs} runs after a warm-up`)
  console.log(`  discovered: ${last.skills} skills, ${last.problems} with problems`)
  console.log(
    `  discovery:          median ${median(results.map((r) => r.discovered)).toFixed(1)} ms (target < 200 ms)`,
  )
  console.log(`  discovery + BM25:   median ${median(results.map((r) => r.total)).toFixed(1)} ms`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
