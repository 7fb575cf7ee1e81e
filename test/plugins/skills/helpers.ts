/** Helpers for the skills tests: SKILL.md files in real temporary directories, and a command runner. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { type CliCommand, cliCommandsRef } from '../../../kernel/index.js'
import type { TestKernel } from '../../../kernel/testing/index.js'

export async function writeSkill(
  root: string,
  folder: string,
  frontmatter: string | Record<string, unknown>,
  body = `# ${folder}\n\nDo the ${folder} thing.\n`,
): Promise<string> {
  const dir = join(root, folder)
  await mkdir(dir, { recursive: true })
  const head =
    typeof frontmatter === 'string'
      ? frontmatter
      : `---\n${Object.entries(frontmatter)
          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
          .join('\n')}\n---\n`
  const file = join(dir, 'SKILL.md')
  await writeFile(file, `${head}${body}`)
  return file
}

export async function runCommand(
  kernel: TestKernel,
  name: string,
  options: Record<string, unknown> = {},
): Promise<{ code: number | undefined | void; out: string }> {
  const commands = (kernel.tryResolve(cliCommandsRef) ?? []) as CliCommand[]
  const command = commands.find((c) => c.name === name)
  if (!command) throw new Error(`no command ${name}`)
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
  })
  const code = await command.run({
    args: [],
    options,
    stdout,
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    signal: new AbortController().signal,
  })
  return { code, out }
}
