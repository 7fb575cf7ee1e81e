/**
 * An end-to-end run of the real binary (coding preset) where the scripted model, asked to write
 * a tau plugin, finds `tau-plugin-authoring` in its system prompt (the prompt names tau, so
 * tau's own skills rank) and reads it through the Skill tool: the instructions come from the
 * `skills/` folder of the package the binary belongs to.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { REPO_ROOT, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

describe('tau reads its own plugin-authoring skill', () => {
  it('the model asked to write a plugin loads tau-plugin-authoring with the Skill tool', async () => {
    const server = await startScriptedServer({
      format: 'ollama',
      script: [
        { toolCalls: [{ id: 'call_skill', name: 'Skill', input: { skill: 'tau-plugin-authoring' } }] },
        { text: 'I will scaffold it with tau plugin new.' },
      ],
    })
    servers.push(server)
    // JSON: the config's form is not under test (a tau.config.ts costs the run jiti's load).
    const p = await project({
      'tau.config.json': JSON.stringify({
        model: 'ollama:scripted-model',
        providers: { ollama: { host: server.url } },
      }),
    })
    const result = await p.run([
      'start',
      '-p',
      'Write a tau plugin that adds a word-count tool',
      '--output-format',
      'stream-json',
    ])
    expect(result.code, result.stderr).toBe(0)
    // The chat requests (the provider also asks /api/show for the model's capabilities).
    const chats = server.requests
      .map((r) => JSON.stringify(r.body))
      .filter((body) => body.includes('"messages"'))
    const first = chats[0] ?? ''
    expect(first).toContain('- tau-plugin-authoring:')
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; message?: { content?: unknown } })
    const results = lines
      .filter((line) => line.type === 'user')
      .flatMap(
        (line) =>
          (line.message?.content ?? []) as Array<{
            type: string
            tool_use_id?: string
            content?: unknown
            is_error?: boolean
          }>,
      )
      .filter((block) => block.type === 'tool_result' && block.tool_use_id === 'call_skill')
    expect(results).toHaveLength(1)
    expect(results[0]!.is_error).toBe(false)
    const text = JSON.stringify(results[0]!.content)
    expect(text).toContain(
      `Base directory for this skill: ${join(REPO_ROOT, 'skills', 'tau-plugin-authoring')}`,
    )
    expect(text).toContain('# Writing a tau plugin')
    // The model's next request carries the skill's instructions.
    expect(chats[1]).toContain('createTestKernel')
  })
})
