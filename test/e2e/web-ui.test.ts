/**
 * The web UI of `tau serve` in a real browser: Debian's Chromium driven by playwright-core, the
 * real `tau serve` binary, a scripted model on loopback in OpenAI's wire format. A new session,
 * a prompt typed and sent, the model's Write call asked as a permission question with buttons,
 * "Allow" clicked, the tool call shown with its input and result, the answer rendered as
 * Markdown (HTML in it escaped), and a screenshot that is not blank; an MCP server's elicitation
 * as a form; AskUserQuestion's questions as a form whose answers reach the model. Needs
 * /usr/bin/chromium (.ci/run installs it).
 *
 * One Chromium for the file (a launch costs about 3 s of CPU), a fresh tab per test; each test
 * has its own `tau serve` (another origin, so nothing of one test's tab storage reaches another).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { color, sentResults, shape, sizes } from './ask-user-question-fixture.js'
import { HANG_LIMIT_MS, type Project, useProjects, waitUntil } from './run-tau.js'
import { type Serving, startServe } from './serve-process.js'

const EVERYTHING_MAIN = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
)
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

let browser: Promise<BrowserContext> | undefined
/** The file's Chromium, launched by the first test that needs it, closed after the last. */
function openBrowser(): Promise<BrowserContext> {
  browser ??= (async () => {
    const profile = await mkdtemp(join(tmpdir(), 'tau-chromium-'))
    closers.push(() => rm(profile, { recursive: true, force: true }))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1200, height: 800 },
    })
    // Playwright's own 30 s for a wait or an action would be a per-wait limit below the suite's:
    // a question or an answer on the page waits for a tau turn, which can take that long on a
    // loaded machine.
    context.setDefaultTimeout(HANG_LIMIT_MS)
    closers.push(() => context.close())
    return context
  })()
  return browser
}

/**
 * A new tab on the web UI of `serving` with a new session open; `dialogs` are the browser
 * dialogs it raised (each dismissed).
 */
async function openSession(serving: Serving): Promise<{ page: Page; dialogs: string[] }> {
  const page = await (await openBrowser()).newPage()
  const dialogs: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  await page.goto(`${serving.url}/#token=${serving.token}`)
  // The token leaves the address bar at once (it stays in the tab's sessionStorage).
  await page.waitForFunction("location.hash === ''")
  await page.getByRole('button', { name: 'New session' }).click()
  await page.locator('#sessions li.active').waitFor()
  return { page, dialogs }
}

/** A project of the coding preset whose model is `server`; `config` adds keys. */
async function webProject(server: ScriptedServer, config: Record<string, unknown> = {}): Promise<Project> {
  const p = await project()
  await p.write({
    // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'openai:scripted-model',
      providers: { openai: { baseURL: `${server.url}/v1` } },
      sandbox: { mode: 'off' },
      ...config,
    }),
  })
  return p
}

describe('the web UI in Chromium', () => {
  it('sends a prompt, answers a permission question with a button, renders the answer; the page is not blank', async () => {
    const server: ScriptedServer = await startScriptedServer({
      format: 'openai',
      script: [
        {
          toolCalls: [
            { id: 'call-w', name: 'Write', input: { file_path: 'note.txt', content: 'from the web' } },
          ],
        },
        { text: 'I **wrote** `note.txt`:\n\n- one line\n- <img src=x onerror=alert(1)> stays text' },
      ],
    })
    closers.push(() => server.close())
    const p = await webProject(server)
    const serving = await startServe(p, closers)
    const { page, dialogs } = await openSession(serving)
    await page.locator('#input').fill('write a note')
    await page.getByRole('button', { name: 'Send' }).click()

    const question = page.locator('.msg.question')
    await question.waitFor()
    expect(await question.textContent()).toContain('Write')
    await question.getByRole('button', { name: 'Allow', exact: true }).click()
    await question.waitFor({ state: 'detached' })

    const answer = page.locator('.msg.assistant strong', { hasText: 'wrote' })
    await answer.waitFor()
    expect(await page.locator('.msg.assistant code').first().textContent()).toBe('note.txt')
    expect(await page.locator('.msg.assistant li').count()).toBe(2)
    // HTML in the model's answer is text, not markup.
    expect(await page.locator('.msg.assistant img').count()).toBe(0)
    expect(await page.locator('.msg.assistant li').nth(1).textContent()).toContain('<img src=x')
    const tool = page.locator('.msg.tool')
    expect(await tool.locator('.name').textContent()).toBe('Write')
    expect(await tool.locator('pre.input').textContent()).toContain('note.txt')
    await page.locator('body[data-status="idle"]').waitFor()
    expect(await readFile(p.path('note.txt'), 'utf8')).toBe('from the web')
    expect(dialogs).toEqual([])

    const png = await page.screenshot({ type: 'png', fullPage: false })
    // TAU_WEB_UI_SCREENSHOT=file keeps a copy to look at.
    const keep = process.env.TAU_WEB_UI_SCREENSHOT
    if (keep) await writeFile(keep, png)
    // Not blank: count colours in a fresh page (the UI's CSP is not involved).
    const check = await (await openBrowser()).newPage()
    // (A string: this code runs in the browser, which the test's TypeScript has no types for.)
    const stats = (await check.evaluate(`(async () => {
      const image = new Image()
      image.src = 'data:image/png;base64,${png.toString('base64')}'
      await image.decode()
      const canvas = document.createElement('canvas')
      canvas.width = image.width
      canvas.height = image.height
      const g = canvas.getContext('2d')
      g.drawImage(image, 0, 0)
      const pixels = g.getImageData(0, 0, image.width, image.height).data
      const counts = new Map()
      for (let i = 0; i < pixels.length; i += 4) {
        const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      const top = Math.max(...counts.values())
      return { width: image.width, colours: counts.size, otherShare: 1 - top / (pixels.length / 4) }
    })()`)) as { width: number; colours: number; otherShare: number }
    expect(stats.width).toBe(1200)
    expect(stats.colours).toBeGreaterThan(20)
    expect(stats.otherShare).toBeGreaterThan(0.05)
  })

  it("shows an MCP server's elicitation as a form built from its schema: required checked, accept sends the content, decline declines", async () => {
    const elicit = (id: string) => ({
      toolCalls: [{ id, name: 'mcp__everything__trigger-elicitation-request', input: {} }],
    })
    const server: ScriptedServer = await startScriptedServer({
      format: 'openai',
      script: [elicit('call-e1'), { text: 'got it' }, elicit('call-e2'), { text: 'declined then' }],
    })
    closers.push(() => server.close())
    const p = await webProject(server, {
      permissions: { allow: ['mcp__everything__trigger-elicitation-request'] },
      mcpServers: { everything: { command: process.execPath, args: [EVERYTHING_MAIN, 'stdio'] } },
    })
    const serving = await startServe(p, closers)
    const { page } = await openSession(serving)
    await page.locator('#input').fill('ask me')
    await page.getByRole('button', { name: 'Send' }).click()

    const question = page.locator('.msg.question')
    await question.waitFor()
    expect(await question.textContent()).toContain('question from everything')
    // The schema's fields, with their kinds and defaults.
    const field = (name: string) => question.locator(`[name="${name}"]`)
    expect(await field('name').getAttribute('type')).toBe('text')
    expect(await field('check').getAttribute('type')).toBe('checkbox')
    expect(await field('integer').getAttribute('type')).toBe('number')
    expect(await field('integer').inputValue()).toBe('42')
    expect(await field('firstLine').inputValue()).toBe('It was a dark and stormy night.')
    expect(await field('untitledSingleSelectEnum').locator('option').allTextContents()).toEqual(
      expect.arrayContaining(['Monica', 'Joey']),
    )
    expect(await field('legacyTitledEnum').locator('option').allTextContents()).toContain('Dogs')
    expect(await question.locator('label', { hasText: 'String *' }).count()).toBe(1)

    // Required: Submit without a name sends nothing and says what is missing.
    await field('name').fill('')
    await question.getByRole('button', { name: 'Submit' }).click()
    await question.locator('.problem', { hasText: 'String is required' }).waitFor()
    await field('name').fill('Ada')
    await field('check').check()
    await field('integer').fill('7')
    await field('untitledSingleSelectEnum').selectOption({ label: 'Joey' })
    await field('legacyTitledEnum').selectOption({ label: 'Dogs' })
    await field('titledSingleSelectEnum').selectOption({ label: 'Wonder Woman' })
    await question.getByRole('button', { name: 'Submit' }).click()
    await question.waitFor({ state: 'detached' })
    const result = page.locator('.msg.tool pre.result', { hasText: 'User inputs' })
    await result.waitFor()
    const text = (await result.textContent()) ?? ''
    expect(text).toContain('- Name: Ada')
    expect(text).toContain('- Agreed to terms: true')
    expect(text).toContain('- Favorite Integer: 7')
    const raw = JSON.parse(text.slice(text.indexOf('{'))) as {
      action: string
      content: Record<string, unknown>
    }
    expect(raw.action).toBe('accept')
    expect(raw.content).toMatchObject({
      name: 'Ada',
      check: true,
      integer: 7,
      number: 3.14,
      untitledSingleSelectEnum: 'Joey',
      legacyTitledEnum: 'pet-2',
      titledSingleSelectEnum: 'hero-3',
      untitledMultipleSelectEnum: ['Guitar'],
    })
    await page.locator('body[data-status="idle"]').waitFor()

    await page.locator('#input').fill('ask again')
    await page.getByRole('button', { name: 'Send' }).click()
    await question.waitFor()
    await question.getByRole('button', { name: 'Decline' }).click()
    await page.locator('.msg.tool pre.result', { hasText: 'User declined' }).waitFor()
  })
})

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
    const p = await webProject(server)
    const serving = await startServe(p, closers)
    const { page } = await openSession(serving)
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
