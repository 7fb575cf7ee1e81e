/**
 * The window docs/distributed.md names: a `kill -9` after the permission decision and before the
 * tool-intent record is stored. The run is paused exactly there (a tap on the agent's `record`
 * hook that runs before the session's write and never returns when the entries hold the intent),
 * killed, and continued (`tau start -p --continue`, the resume a durable worker runs): the call is
 * answered "not run" — and that is true: the tool never ran (its effect is absent), because the
 * tool starts only after its intent is stored. The model is told it did not run, asks again, and
 * the call then runs once.
 */
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { UNSTARTED_CALL_TEXT } from '../../plugins/agent/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { useProjects, waitUntil } from './run-tau.js'

const project = useProjects()
let server: ScriptedServer | undefined
afterAll(async () => {
  await server?.close()
})

describe('a kill between the permission decision and the tool-intent record', () => {
  it('answers the call as not run, which it was not; the call then runs once', async () => {
    const p = await project()
    const effects = p.path('effects.log')
    const call = { name: 'Bash', input: { command: `echo ran >> ${effects}` } }
    server = await startScriptedServer({
      format: 'openai',
      script: [
        { toolCalls: [{ id: 'call_1', ...call }] },
        // After the resume: the model is told call_1 did not run, and asks again.
        { toolCalls: [{ id: 'call_2', ...call }] },
        { text: 'done' },
      ],
    })
    await p.write({
      'tau.config.ts': `import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentHooksRef, defineConfig, definePlugin, STAGE } from 'tau'

// The pause point: before the session's tap stores the entries, and only once.
const pause = definePlugin({
  name: 'pause-at-intent',
  dependsOn: ['agent'],
  setup(ctx) {
    const marker = join(ctx.paths.projectDir, 'paused')
    ctx.hooksOf(agentHooksRef).record.tapPromise({ stage: STAGE.GUARD }, async ({ entries }) => {
      if (entries.some((e) => e.type === 'tool-intent') && !existsSync(marker)) {
        writeFileSync(marker, '')
        await new Promise(() => {})
      }
    })
  },
})

export default defineConfig({
  preset: 'coding',
  model: 'openai:scripted-model',
  providers: { openai: { baseURL: ${JSON.stringify(`${server.url}/v1`)} } },
  plugins: [pause],
})
`,
    })
    const env = { OPENAI_API_KEY: 'sk-test' }
    const first = p.spawn(['start', '-p', 'Append a line', '--allowed-tools', 'Bash'], { env })
    await waitUntil(() => p.exists('paused'), 'the pause at the intent record', first)
    first.child.kill('SIGKILL')
    expect((await first.result).signal).toBe('SIGKILL')
    expect(existsSync(effects)).toBe(false)

    const second = await p.run(['start', '-p', '--continue', '--allowed-tools', 'Bash'], { env })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toContain('done')
    const resumed = server.requests.filter((r) => r.method === 'POST')[1]!.body as {
      messages: Array<{ role: string; tool_call_id?: string; content?: unknown }>
    }
    const answer = resumed.messages.find((m) => m.role === 'tool' && m.tool_call_id === 'call_1')
    expect(String(answer?.content)).toContain(UNSTARTED_CALL_TEXT)
    // The one effect is the second call's: the first never ran.
    expect(readFileSync(effects, 'utf8')).toBe('ran\n')
  })
})
