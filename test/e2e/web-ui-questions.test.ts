/**
 * AskUserQuestion in the web UI of `tau serve`, in a real browser: Debian's Chromium driven by
 * playwright-core, the real `tau serve` binary, a scripted model on loopback in OpenAI's wire
 * format. The questions show as a form (a radio group, checkboxes for a multi-select, a box for
 * an answer of the user's own); "Answer" sends them, and the model's next request carries them.
 * Needs /usr/bin/chromium (.ci/run installs it).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { useProjects, waitUntil } from './run-tau.js'
import { startServe } from './serve-process.js'

const project = useProjects()
const closers: Array<() => unknown> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

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

/** The tool results the model was sent (OpenAI wire: `tool` messages), distinct and in order. */
function sentResults(server: ScriptedServer): string[] {
  const all = server.requests
    .filter((r) => r.path.endsWith('/chat/completions'))
    .flatMap((r) => (r.body as { messages: Array<{ role: string; content: unknown }> }).messages)
    .filter((m) => m.role === 'tool')
    .map((m) =>
      typeof m.content === 'string'
        ? m.content
        : (m.content as Array<{ text?: string }>).map((part) => part.text ?? '').join(''),
    )
  return [...new Set(all)]
}

describe('AskUserQuestion in the web UI (Chromium)', () => {
  it('shows the questions as a form; the picks, several picks and an own answer reach the model', async () => {
    const server = await startScriptedServer({
      format: 'openai',
      script: [
        {
          toolCalls: [{ id: 'call-q', name: 'AskUserQuestion', input: { questions: [color, sizes, shape] } }],
        },
        { text: 'A blue oval button, small and large.' },
      ],
    })
    closers.push(() => server.close())
    const p = await project()
    await p.write({
      'tau.config.ts': `import { defineConfig } from 'tau'

export default defineConfig({
  preset: 'coding',
  model: 'openai:scripted-model',
  providers: { openai: { baseURL: ${JSON.stringify(`${server.url}/v1`)} } },
  sandbox: { mode: 'off' },
})
`,
    })
    const serving = await startServe(p, closers)
    const profile = await mkdtemp(join(tmpdir(), 'tau-chromium-'))
    closers.push(() => rm(profile, { recursive: true, force: true }))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1200, height: 800 },
    })
    closers.push(() => context.close())
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${serving.url}/#token=${serving.token}`)
    await page.waitForFunction("location.hash === ''")
    await page.getByRole('button', { name: 'New session' }).click()
    await page.locator('#sessions li.active').waitFor()
    await page.locator('#input').fill('make a button')
    await page.getByRole('button', { name: 'Send' }).click()

    const form = page.locator('.msg.question')
    await form.waitFor()
    const field = (question: string) => form.locator('fieldset', { hasText: question })
    expect(await form.locator('legend').allTextContents()).toEqual([
      `Color: ${color.question}`,
      `Sizes: ${sizes.question}`,
      `Shape: ${shape.question}`,
    ])
    // One pick of a single choice (radios), several of a multi-select (checkboxes), own text.
    expect(await field(color.question).getByRole('radio').count()).toBe(2)
    expect(await field(sizes.question).getByRole('checkbox').count()).toBe(3)
    await field(color.question).getByRole('radio', { name: 'Blue — Calm' }).check()
    await field(sizes.question).getByRole('checkbox', { name: 'Small' }).check()
    await field(sizes.question).getByRole('checkbox', { name: 'Large' }).check()
    await field(shape.question).getByPlaceholder('or your own answer').fill('Oval')
    await form.getByRole('button', { name: 'Answer' }).click()
    await form.waitFor({ state: 'detached' })

    await waitUntil(() => sentResults(server).length > 0, 'the answers reach the model', serving.proc)
    expect(sentResults(server)).toEqual([
      `User has answered your questions: "${color.question}"="Blue", "${sizes.question}"="Small, Large", "${shape.question}"="Oval". You can now continue with the user's answers in mind.`,
    ])
    await page.locator('.msg.assistant', { hasText: 'A blue oval button' }).waitFor()
    await page.locator('body[data-status="idle"]').waitFor()
  })
})
