import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliRunner } from './cli-runner.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-cli-commands-'))
  await writeFile(
    join(dir, 'tau.config.ts'),
    `import { cliCommandsRef, definePlugin } from 'tau-agent'
let started = false
export default {
  plugins: [
    definePlugin({
      name: 'greeter',
      setup(ctx) {
        ctx.hooks.start.tap(() => { started = true })
        ctx.provide(cliCommandsRef, {
          name: 'greet',
          description: 'say hello',
          arguments: [{ name: '<who>' }],
          options: [{ flags: '--shout', description: 'loudly' }],
          async run({ args, options, stdout }) {
            const text = 'hello ' + args[0]
            stdout.write((options.shout ? text.toUpperCase() : text) + '\\n')
            return args[0] === 'nobody' ? 3 : 0
          },
        })
        ctx.provide(cliCommandsRef, {
          name: 'greeter status',
          description: 'show whether the kernel was started',
          needs: 'start',
          async run({ stdout }) { stdout.write('started=' + started + '\\n') },
        })
      },
    }),
  ],
}
`,
  )
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const cli = cliRunner({ dir: () => dir })

describe('plugin commands', () => {
  it('a plugin adds a command with arguments and options; its exit code is the process exit code', async () => {
    await expect(cli('greet', 'ada')).resolves.toMatchObject({ code: 0, out: 'hello ada\n' })
    await expect(cli('greet', 'ada', '--shout')).resolves.toMatchObject({
      code: 0,
      out: 'HELLO ADA\n',
    })
    await expect(cli('greet', 'nobody')).resolves.toMatchObject({ code: 3 })
  })

  it('a two-word command runs under its group, and needs: start starts the kernel first', async () => {
    await expect(cli('greeter', 'status')).resolves.toMatchObject({
      code: 0,
      out: 'started=true\n',
    })
  })

  it('an unknown command is an error with a did-you-mean over built-in and plugin commands', async () => {
    const result = await cli('gret', 'x')
    expect(result.code).toBe(1)
    expect(result.err).toContain("unknown command 'tau gret' (did you mean 'greet'?)")
    expect(result.err).not.toMatch(/^\s+at /m)
  })

  it("an option before any command word is the default command's: tau -p hi is tau start -p hi", async () => {
    const result = await cli('-p', 'hi')
    expect(result.err).not.toContain('unknown command')
    // The preset here has no frontend: start says so, having taken -p hi as its own arguments.
    expect(result.err).toContain('frontend')
    const word = await cli('--debug', 'gret', 'x')
    expect(word.err).toContain("unknown command 'tau gret'")
  })

  it('root help lists plugin commands', async () => {
    const result = await cli('--help')
    expect(result.code).toBe(0)
    expect(result.out).toMatch(/greet \[options\] <who>\s+say hello/)
  })
})
