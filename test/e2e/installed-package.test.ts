/**
 * tau as a user's project sees it: installed under node_modules/tau-agent (a symlink to this
 * repository, as `npm link` or a workspace makes it), configs and plugins importing 'tau-agent', and
 * tests importing 'tau-agent/testing', all through the package's `exports`.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../..', import.meta.url))
let project: string
let home: string

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'tau-installed-'))
  home = join(project, '.home')
  await mkdir(join(project, 'node_modules'), { recursive: true })
  await symlink(repo, join(project, 'node_modules', 'tau-agent'), 'dir')
  await symlink(join(repo, 'node_modules', 'zod'), join(project, 'node_modules', 'zod'), 'dir')
  await mkdir(join(project, 'plugins'))
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'my-agent', type: 'module', private: true }),
  )
  await writeFile(
    join(project, 'plugins', 'hello.ts'),
    [
      "import { definePlugin, defineService } from 'tau-agent'",
      "import { z } from 'zod'",
      "export const greetingRef = defineService<string>('hello.greeting')",
      'export default definePlugin({',
      "  name: 'hello',",
      "  config: z.object({ who: z.string().default('world') }),",
      '  setup(ctx) {',
      "    ctx.provide(greetingRef, 'hello ' + ctx.config.who)",
      '  },',
      '})',
      '',
    ].join('\n'),
  )
  await writeFile(
    join(project, 'tau.config.ts'),
    "import { defineConfig } from 'tau-agent'\nimport hello from './plugins/hello.ts'\nexport default defineConfig({ preset: 'minimal', plugins: [hello], hello: { who: 'ada' } })\n",
  )
})

afterAll(async () => {
  await rm(project, { recursive: true, force: true })
})

const env = () => ({ PATH: process.env.PATH ?? '', TAU_HOME: home, NO_COLOR: '1' })

describe('tau installed in a project', () => {
  it('its binary loads the project config, which imports tau and a local TypeScript plugin', async () => {
    const bin = join(project, 'node_modules', 'tau-agent', 'dist', 'bin', 'tau.js')
    const { stdout } = await run(process.execPath, [bin, 'config', '--json'], { cwd: project, env: env() })
    expect(JSON.parse(stdout)).toEqual({ hello: { who: 'ada' } })
    const plugins = await run(process.execPath, [bin, 'plugins', '--json'], { cwd: project, env: env() })
    expect(JSON.parse(plugins.stdout).plugins).toMatchObject([
      { name: 'hello', services: ['hello.greeting'] },
    ])
  })

  it("a plugin's test imports createTestKernel from 'tau-agent/testing' and a scripted model server from 'tau-agent/scripted-server'", async () => {
    await writeFile(
      join(project, 'check.mjs'),
      [
        "import { definePlugin, defineService } from 'tau-agent'",
        "import { createTestKernel } from 'tau-agent/testing'",
        "import { startScriptedServer } from 'tau-agent/scripted-server'",
        "const server = await startScriptedServer({ format: 'ollama', script: [] })",
        "const tags = await (await fetch(server.url + '/api/tags')).json()",
        'await server.close()',
        "if (tags.models[0].name !== 'scripted-model') throw new Error('unexpected tags')",
        "const ref = defineService('check.value')",
        "const plugin = definePlugin({ name: 'check', setup: (ctx) => ctx.provide(ref, 42) })",
        'const kernel = await createTestKernel({ plugins: [plugin] })',
        'process.stdout.write(String(kernel.resolve(ref)))',
        'await kernel.stop()',
        '',
      ].join('\n'),
    )
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: project, env: env() })
    expect(stdout).toBe('42')
  })
})
