/**
 * `tau init` asking before it replaces a file: on a terminal the user's answer decides; without
 * one (a pipe, CI) the file is kept. The e2e tests (test/e2e/init.test.ts) cover the rest with
 * the real binary; a child process has no terminal, so the question is tested here, with a
 * stream that says it is one.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { type CliCommand, cliCommandsRef } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import scaffold from '../../../plugins/scaffold/index.js'

async function init(answer: string | undefined, tty: boolean) {
  const kernel = await createTestKernel({ plugins: [scaffold] })
  const dir = kernel.paths.cwd
  await writeFile(join(dir, 'TAU.md'), '# mine\n')
  const command = (kernel.resolve(cliCommandsRef) as CliCommand[]).find((c) => c.name === 'init')!
  const stdin = Object.assign(new PassThrough(), { isTTY: tty })
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let asked = ''
  stdout.on('data', (chunk: Buffer) => {
    out += chunk
  })
  stderr.on('data', (chunk: Buffer) => {
    asked += chunk
    // Answer once the question is on the screen, as a user would.
    if (answer !== undefined && asked.includes('[y/N]')) stdin.write(`${answer}\n`)
  })
  const code = await command.run({
    args: [],
    options: { model: 'ollama:qwen3:8b' },
    stdin,
    stdout,
    stderr,
    signal: new AbortController().signal,
  })
  const memory = await readFile(join(dir, 'TAU.md'), 'utf8')
  await kernel.stop()
  return { code, out, asked, memory }
}

describe('tau init: asking before replacing', () => {
  it('replaces the file when the user answers yes on a terminal', async () => {
    const { code, out, asked, memory } = await init('y', true)
    expect(code).toBe(0)
    expect(asked).toContain('TAU.md exists. Replace it? [y/N]')
    expect(out).toContain('replaced TAU.md')
    expect(memory).not.toBe('# mine\n')
  })

  it('keeps it on any other answer', async () => {
    const { out, memory } = await init('n', true)
    expect(out).toContain('kept     TAU.md')
    expect(memory).toBe('# mine\n')
  })

  it('keeps it without a terminal, and does not ask', async () => {
    const { out, asked, memory } = await init(undefined, false)
    expect(asked).toBe('')
    expect(out).toContain('kept     TAU.md (it exists; run with --yes to replace it)')
    expect(memory).toBe('# mine\n')
  })
})
