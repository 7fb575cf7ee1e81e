/**
 * AskUserQuestion in the interactive terminal, the way a person answers it: the real binary in a
 * pseudo-terminal (tmux, test/e2e/tmux-pane.ts), a scripted Anthropic server on loopback (the
 * real wire). The questions show, options are picked with the keys, a multi-select takes
 * numbers, an answer of the user's own is typed, and the answers reach the model: the server's
 * next request carries them. Needs tmux on PATH (CI installs it).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { color, sentResults, shape, sizes } from './ask-user-question-fixture.js'
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
      // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
      'tau.config.json': JSON.stringify({
        preset: 'coding',
        model: 'anthropic:scripted-model',
        providers: { anthropic: { baseURL: server.url, apiKey: 'sk-ant-test' }, retries: { max: 0 } },
      }),
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
