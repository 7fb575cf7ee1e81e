/**
 * The real `tau` binary runs an MCP prompt as a slash command: `tau start -p
 * "/mcp__everything__args-prompt ..."` expands through the slash-commands registry into
 * server-everything's prompt, which is what the model gets (read back from the transcript);
 * a missing required argument fails clearly, before any model call.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectKey } from '../../plugins/session/index.js'
import { type Project, REPO_ROOT, STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()
const EVERYTHING = join(REPO_ROOT, 'node_modules', '.bin', 'mcp-server-everything')

const config = `${JSON.stringify(
  {
    model: 'scripted:prompt-demo',
    mcpServers: { everything: { command: EVERYTHING, args: ['stdio'] } },
    providers: { scripted: { turns: [{ text: 'Sunny.' }] } },
  },
  null,
  2,
)}\n`

async function userMessages(p: Project): Promise<string[]> {
  // Transcripts live under $TAU_HOME/projects/<project-key>/, out of the workspace.
  const sessions = join(p.tauHome, 'projects', projectKey(p.dir))
  const texts: string[] = []
  for (const file of await readdir(sessions)) {
    if (!file.endsWith('.jsonl')) continue
    for (const line of (await readFile(join(sessions, file), 'utf8')).split('\n')) {
      if (!line.includes('"user"')) continue
      const record = JSON.parse(line) as { message?: { role?: string; content?: unknown } }
      if (record.message?.role === 'user' && typeof record.message.content === 'string')
        texts.push(record.message.content)
    }
  }
  return texts
}

describe('tau start -p with an MCP prompt as a slash command', () => {
  it('sends the prompt server-everything returns for the arguments given', async () => {
    const p = await project({ 'tau.config.json': config }, [])
    const result = await p.run([
      'start',
      '-p',
      '/mcp__everything__args-prompt "New York" state=NY',
      '--output-format',
      'json',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ is_error: false, result: 'Sunny.' })
    expect(await userMessages(p)).toEqual(["What's weather in New York, NY?"])
  })

  it('a missing required argument is an error naming it, with the usage, and no stack trace', async () => {
    const p = await project({ 'tau.config.json': config }, [])
    const result = await p.run(['start', '-p', '/mcp__everything__args-prompt'])
    expect(result.code).toBe(1)
    expect(result.stderr + result.stdout).toContain("/mcp__everything__args-prompt needs the argument 'city'")
    expect(result.stderr + result.stdout).toContain('/mcp__everything__args-prompt <city> [state]')
    expect(result.stderr).not.toMatch(STACK_LINE)
  })
})
