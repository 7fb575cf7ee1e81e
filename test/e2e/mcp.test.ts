/**
 * The real `tau` binary, the coding preset, a scripted model and the published MCP reference
 * server over stdio: the model calls an MCP tool, tau runs it through the permissions it is
 * given, and the model's answer uses the tool's result.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, useProjects } from './run-tau.js'

const project = useProjects()
const EVERYTHING = join(REPO_ROOT, 'node_modules', '.bin', 'mcp-server-everything')

function config(allow: string[]): string {
  return `${JSON.stringify(
    {
      model: 'scripted:mcp-demo',
      permissions: { allow },
      mcpServers: { everything: { command: EVERYTHING, args: ['stdio'] } },
      providers: {
        scripted: {
          turns: [
            {
              toolCalls: [
                { id: 'call_echo', name: 'mcp__everything__echo', input: { message: 'hello from tau' } },
              ],
            },
            { text: 'The server echoed it back.' },
          ],
        },
      },
    },
    null,
    2,
  )}\n`
}

describe('tau start -p with an MCP server', () => {
  it('the model calls an MCP tool and gets its result', async () => {
    const p = await project({ 'tau.config.json': config(['mcp__everything__echo']) }, [])
    const result = await p.run(['start', '-p', 'echo something', '--output-format', 'stream-json'])
    expect(result.code, result.stderr).toBe(0)
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    const init = events.find((e) => e.type === 'system') as { tools: string[] }
    expect(init.tools).toContain('mcp__everything__echo')
    const toolResult = JSON.stringify(events.find((e) => e.type === 'user'))
    expect(toolResult).toContain('Echo: hello from tau')
    expect(events.at(-1)).toMatchObject({
      type: 'result',
      is_error: false,
      result: 'The server echoed it back.',
    })
  })

  it('without an allow rule, headless mode denies the MCP tool and tells the model', async () => {
    const p = await project({ 'tau.config.json': config([]) }, [])
    const result = await p.run(['start', '-p', 'echo something', '--output-format', 'stream-json'])
    expect(result.code, result.stderr).toBe(0)
    const toolResult = JSON.stringify(result.stdout.split('\n').find((l) => l.includes('"tool_result"')))
    expect(toolResult).not.toContain('Echo: hello from tau')
    expect(toolResult).toMatch(/denied|permission/i)
  })
})
