/**
 * AskUserQuestion in the interactive terminal, the way a person answers it: the real binary in a
 * pseudo-terminal (tmux, test/e2e/tmux-pane.ts), a scripted Anthropic server on loopback (the
 * real wire). The questions show, options are picked with the keys, a multi-select takes
 * numbers, an answer of the user's own is typed, and the answers reach the model: the server's
 * next request carries them. Needs tmux on PATH (CI installs it).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { HANG_LIMIT_MS, useProjects } from './run-tau.js'
import { usePanes } from './tmux-pane.js'

const project = useProjects()
const open = usePanes()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

/** Polls until `check()` holds (the pane has no process handle to watch). */
async function until(check: () => boolean, what: string, screen: () => string): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${HANG_LIMIT_MS} ms\n${screen()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : (content as Array<{ type: string; text?: string }>).map((b) => b.text ?? '').join('')

/** The distinct tool_result texts the model was sent, in order (each request resends the earlier). */
function sentResults(server: ScriptedServer): string[] {
  const all = server.requests
    .filter((r) => r.path.startsWith('/v1/messages'))
    .flatMap((r) => (r.body as { messages: Array<{ content: unknown }> }).messages)
    .flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : []))
    .filter((b) => b.type === 'tool_result')
    .map((b) => textOf(b.content))
  return [...new Set(all)]
}

const color = {
  question: 'Which color should the button be?',
  header: 'Color',
  options: [
    { label: 'Red', description: 'Loud' },
    { label: 'Blue', description: 'Calm' },
  ],
  multiSelect: false,
}
const sizes = {
  question: 'Which sizes?',
  header: 'Sizes',
  options: [
    { label: 'Small', description: '' },
    { label: 'Medium', description: '' },
    { label: 'Large', description: '' },
  ],
  multiSelect: true,
}
const shape = {
  question: 'Which shape?',
  header: 'Shape',
  options: [
    { label: 'Round', description: '' },
    { label: 'Square', description: '' },
  ],
  multiSelect: false,
}

describe('AskUserQuestion in the terminal', () => {
  it("shows each question, takes a pick, several picks and an answer of the user's own; the model gets them", async () => {
    const server = await startScriptedServer({
      format: 'anthropic',
      script: [
        { toolCalls: [{ id: 'toolu_t1', name: 'AskUserQuestion', input: { questions: [color, sizes] } }] },
        { toolCalls: [{ id: 'toolu_t2', name: 'AskUserQuestion', input: { questions: [shape] } }] },
        { text: 'A blue oval button in small and large.' },
      ],
    })
    servers.push(server)
    const p = await project({
      'tau.config.ts': `export default {
  preset: 'coding',
  model: 'anthropic:scripted-model',
  providers: { anthropic: { baseURL: ${JSON.stringify(server.url)}, apiKey: 'sk-ant-test' }, retries: { max: 0 } },
}
`,
    })
    const t = open(p)
    await t.waitFor(/Type a prompt/)
    t.type('make a button')

    // A single choice: the options with their descriptions, and the user's own answer last.
    let screen = await t.waitFor(/\[Color\] Which color should the button be\?/)
    screen = await t.waitFor(/Type my own answer/)
    expect(screen).toMatch(/Red — Loud/)
    expect(screen).toMatch(/Blue — Calm/)
    t.keys('Down')
    t.keys('Enter')
    // A multi-select: numbers separated by commas.
    await t.waitFor(/\[Sizes\] Which sizes\?[\s\S]*numbers separated by commas/)
    t.type('1,3')
    await until(() => sentResults(server).length >= 1, 'the first answers reach the model', t.screen)
    expect(sentResults(server)[0]).toBe(
      `User has answered your questions: "${color.question}"="Blue", "${sizes.question}"="Small, Large". You can now continue with the user's answers in mind.`,
    )

    // The user's own answer instead of an option.
    await t.waitFor(/\[Shape\] Which shape\?[\s\S]*Type my own answer/)
    t.keys('3')
    await t.waitFor(/Your answer:/)
    t.type('Oval')
    await t.waitFor(/A blue oval button in small and large\./)
    expect(sentResults(server)[1]).toBe(
      `User has answered your questions: "${shape.question}"="Oval". You can now continue with the user's answers in mind.`,
    )
    t.type('/exit')
    expect(await t.exitCode()).toBe('0')
  })
})
