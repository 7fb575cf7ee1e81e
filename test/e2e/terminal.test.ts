/**
 * The interactive terminal the way a person uses it: the real binary in a pseudo-terminal (tmux,
 * on a private socket, 80 columns), a scripted model, keys typed and text pasted, the screen
 * read. Needs tmux on PATH (CI installs it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectKey } from '../../plugins/session/index.js'
import { HANG_LIMIT_MS, type Project, REPO_ROOT, useProjects } from './run-tau.js'
import { usePanes } from './tmux-pane.js'

const project = useProjects()
const open = usePanes()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The project's config: the coding preset, a scripted model playing `turns`, `extra` keys. JSON:
 * the config's form is not under test (a tau.config.ts costs each of the file's boots a transpile).
 */
function config(turns: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    preset: 'coding',
    model: 'scripted:x',
    providers: { scripted: { turns } },
    ...extra,
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * The host pid of the `sleep SECONDS` the command started once it wrote its file. Found in /proc
 * by its odd length: under bubblewrap the `$$` it wrote is a pid of the sandbox's own namespace.
 */
async function pidFrom(file: string, seconds: string): Promise<number> {
  const deadline = Date.now() + HANG_LIMIT_MS
  const find = () =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'latin1') === `sleep\0${seconds}\0` && alive(pid)
        } catch {
          return false
        }
      })
  let pid = find()
  while ((!existsSync(file) || pid === undefined) && Date.now() < deadline) {
    await sleep(50)
    pid = find()
  }
  expect(pid).toBeDefined()
  return pid!
}

async function gone(pid: number): Promise<boolean> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (alive(pid) && Date.now() < deadline) await sleep(50)
  return !alive(pid)
}

/** Every user message of the project's stored sessions, in order. */
function userTexts(p: Project): string[] {
  const dir = join(p.tauHome, 'projects', projectKey(p.dir))
  const texts: string[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const record = JSON.parse(line) as { message?: { role?: string; content?: unknown } }
      const message = record.message
      if (message?.role === 'user' && typeof message.content === 'string') texts.push(message.content)
      if (message?.role === 'tool' && Array.isArray(message.content))
        for (const part of message.content as Array<{ content?: Array<{ text?: string }> }>)
          for (const c of part.content ?? []) if (c.text) texts.push(c.text)
    }
  }
  return texts
}

/** No line of the screen is wider than the 80-column terminal (tau wraps, the terminal never has to). */
function fitsIn80(screen: string): void {
  for (const line of screen.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80)
}

describe('tau start in a terminal', () => {
  it('streams, asks permission both ways, runs slash commands, queues while busy, Esc and Ctrl-C interrupt, exits 0', async () => {
    const p = await project({
      'tau.config.json': config([
        { text: 'Hello from the scripted model, streaming in pieces.' },
        { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'denied.txt', content: 'no' } }] },
        { text: 'Understood, I did not write it.' },
        { text: 'Greeting done.' },
        {
          toolCalls: [{ id: 'b1', name: 'Bash', input: { command: 'echo $$ > one.pid; exec sleep 300.1' } }],
        },
        { text: 'Back after Esc.' },
        {
          toolCalls: [{ id: 'b2', name: 'Bash', input: { command: 'echo $$ > two.pid; exec sleep 300.2' } }],
        },
        { text: 'Back after Ctrl-C.' },
      ]),
      '.tau/commands/greet.md':
        '---\ndescription: Greets someone by name\nargument-hint: NAME\n---\nSay hello to $ARGUMENTS politely.\n',
    })
    const t = open(p)
    await t.waitFor(/Type a prompt/)
    t.type('hello there')
    await t.waitFor(/Hello from the scripted model, streaming in pieces\./)
    await t.waitFor(/\d+ in · \d+ out · 1 turn/)

    // Deny, with a reason the model reads.
    t.type('write a file')
    await t.waitFor(/Allow Write\?[\s\S]*3\. No, and tell the model what to do instead/)
    t.keys('3')
    await t.waitFor(/What should the model do instead\?/)
    t.type('not today')
    await t.waitFor(/Understood, I did not write it\./)
    expect(p.exists('denied.txt')).toBe(false)
    expect(userTexts(p).join('\n')).toContain('not today')

    t.type('/help')
    let screen = await t.waitFor(/\/greet NAME\s+Greets someone by name \(project\)/)
    expect(screen).toMatch(/\/permissions/)
    expect(screen).toMatch(/Shift-Tab\s+cycle permission modes/)
    t.type('/greet World')
    screen = await t.waitFor(/Greeting done\./)
    expect(screen).toMatch(/\/greet: Say hello to World politely\./)

    // Allow with the arrow keys; type ahead while it runs; Esc interrupts and hands the queued
    // prompt back to the input box.
    t.type('run something long')
    await t.waitFor(/Allow Bash\?/)
    t.keys('Enter')
    const one = await pidFrom(p.path('one.pid'), '300.1')
    await t.waitFor(/Bash\(echo \$\$ > one\.pid; exec sleep 300\.1\) \d/)
    t.type('and then this')
    await t.waitFor(/↳ queued: and then this/)
    t.keys('Escape')
    await t.waitFor(/interrupted ·/)
    expect(await gone(one)).toBe(true)
    screen = await t.waitFor(/> and then this\n─/)
    expect(screen).not.toMatch(/↳ queued/)
    t.keys('Enter')
    await t.waitFor(/Back after Esc\./)

    // Allow always, then Ctrl-C during the run.
    t.type('once more')
    await t.waitFor(/Allow Bash\?/)
    t.keys('2')
    const two = await pidFrom(p.path('two.pid'), '300.2')
    t.keys('C-c')
    await t.waitFor(/interrupted ·[\s\S]*interrupted ·/)
    expect(await gone(two)).toBe(true)
    const settings = readFileSync(p.path('.tau/settings.local.json'), 'utf8')
    expect(settings).toContain('two.pid')

    t.type('are you there')
    screen = await t.waitFor(/Back after Ctrl-C\./)
    fitsIn80(screen)
    t.type('/exit')
    expect(await t.exitCode()).toBe('0')
  })

  it('Shift-Tab to plan mode, the plan shown and approved, the next step in acceptEdits; Markdown in colour', async () => {
    const p = await project({
      'tau.config.json': config([
        { toolCalls: [{ id: 'r1', name: 'Read', input: { file_path: 'notes.txt' } }] },
        {
          toolCalls: [
            {
              id: 'p1',
              name: 'ExitPlanMode',
              input: { plan: '# Fix the notes\n\n1. Replace **old** with new\n2. Say done' },
            },
          ],
        },
        {
          toolCalls: [
            {
              id: 'p2',
              name: 'ExitPlanMode',
              input: {
                plan: '# Fix the notes\n\n1. Replace **old** with new, because old is wrong\n2. Say done',
              },
            },
          ],
        },
        {
          toolCalls: [
            {
              id: 'e1',
              name: 'Edit',
              input: { file_path: 'notes.txt', old_string: 'old', new_string: 'new' },
            },
          ],
        },
        {
          text: '**Done**: the notes say `new` now.\n\n- one bullet\n\n| file | state |\n|---|---|\n| notes.txt | fixed |',
        },
      ]),
      'notes.txt': 'the old text\n',
    })
    const t = open(p, { color: true })
    await t.waitFor(/Type a prompt/)
    t.keys('BTab')
    await t.waitFor(/accept edits on/)
    t.keys('BTab')
    await t.waitFor(/plan mode on/)
    t.type('fix the notes')
    let screen = await t.waitFor(/Would you like to proceed with this plan\?/)
    expect(screen).toMatch(/Plan \(saved to \.tau\/plans\/\d{4}-\d\d-\d\d-fix-the-notes\.md\)/)
    // The plan is rendered: the heading without its hashes, bold without asterisks.
    expect(screen).toMatch(/│ Fix the notes/)
    expect(screen).toMatch(/│ 1\. Replace old with new/)
    // Sent back with comments: still plan mode, the model revises and asks again.
    t.keys('3')
    await t.waitFor(/What should change in the plan\?/)
    t.type('say why')
    screen = await t.waitFor(/Replace old with new, because old is wrong[\s\S]*Would you like to proceed/)
    expect(screen).toMatch(/Plan \(saved to \.tau\/plans\/\d{4}-\d\d-\d\d-fix-the-notes-2\.md\)/)
    // The answer reaches the model as ExitPlanMode's result (the plan plugin asked through the session).
    expect(userTexts(p).some((text) => /asks for changes:\n\nsay why\n\nRevise the plan/.test(text))).toBe(
      true,
    )
    t.keys('1')
    screen = await t.waitFor(/the notes say new now\.[\s\S]*\d+ in · /)
    expect(screen).not.toMatch(/Allow Edit\?/)
    expect(screen).toMatch(/accept edits on/)
    expect(screen).toMatch(/Done: the notes say new now\./)
    expect(screen).toMatch(/• one bullet/)
    expect(screen).toMatch(/│ notes\.txt │ fixed │/)
    expect(readFileSync(p.path('notes.txt'), 'utf8')).toBe('the new text\n')
    expect(
      userTexts(p).some((text) =>
        /The user approved the plan .*The permission mode is now acceptEdits/.test(text),
      ),
    ).toBe(true)
    fitsIn80(screen)
    t.keys('C-d')
    expect(await t.exitCode()).toBe('0')
  })

  it('keeps a paste whole, takes multi-line input, and remembers prompts across restarts', async () => {
    const p = await project({
      'tau.config.json': config([{ text: 'Got the paste.' }, { text: 'Got two lines.' }]),
    })
    const t = open(p, { runs: 2 })
    await t.waitFor(/Type a prompt/)
    const pasted = Array.from({ length: 8 }, (_, i) => `pasted line ${i + 1}`).join('\n')
    t.paste(pasted)
    await t.waitFor(/> \[Pasted text #1 \+8 lines\]/)
    t.type(' summarise it')
    const shown = await t.waitFor(/Got the paste\./)
    // The transcript on screen shows the placeholder, the model gets the text.
    expect(shown).toMatch(/> \[Pasted text #1 \+8 lines\] summarise it\n/)
    expect(shown).not.toMatch(/pasted line 2/)
    t.keys('-l', 'first line')
    t.keys('M-Enter')
    t.keys('-l', 'second line')
    t.keys('Enter')
    await t.waitFor(/Got two lines\./)
    expect(userTexts(p)).toEqual([`${pasted} summarise it`, 'first line\nsecond line'])
    t.type('/exit')
    expect(await t.exitCode(1)).toBe('0')

    // The second tau in the same project: Up brings back the last prompt, whole.
    await t.waitFor(/Type a prompt[\s\S]*Type a prompt/)
    t.keys('Up')
    await t.waitFor(/> first line\n {2}second line\n─/)
    t.keys('Enter')
    // A new process plays the script from its first turn again.
    await t.waitFor(/Type a prompt[\s\S]*Type a prompt[\s\S]*Got the paste\.\s+\d+ in · /)
    t.keys('C-c')
    await t.waitFor(/Press Ctrl-C again to exit/)
    t.keys('C-c')
    expect(await t.exitCode(2)).toBe('0')
  })

  it("shows a subagent's calls under its Task and asks its permission questions in the parent's terminal", async () => {
    const p = await project({
      'tau.config.json': config(
        [
          {
            toolCalls: [
              {
                id: 't1',
                name: 'Task',
                input: { description: 'Count files', prompt: 'count them', subagent_type: 'counter' },
              },
            ],
          },
          { toolCalls: [{ id: 'c1', name: 'Bash', input: { command: 'ls | wc -l > count.txt' } }] },
          { text: 'There are some files.' },
          { text: 'The counter reported back.' },
        ],
        { subagents: { agents: { counter: { description: 'Counts files', prompt: 'You count files.' } } } },
      ),
    })
    const t = open(p)
    await t.waitFor(/Type a prompt/)
    t.type('count the files')
    let screen = await t.waitFor(/Allow Bash\? \(asked by the counter subagent\)/)
    expect(screen).toMatch(/● Task\(Count files\)\n {4}● Bash\(ls \| wc -l > count\.txt\)/)
    t.keys('1')
    screen = await t.waitFor(/The counter reported back\.\s+\d+ in · /)
    expect(screen).toMatch(/ {6}⎿ ✓ Bash/)
    expect(screen).toMatch(/ {2}⎿ ✓ Task [\d.]+m?s · There are some files\./)
    // The subagent's text is its report, not printed as the parent's answer.
    expect(screen).not.toMatch(/^There are some files\./m)
    expect(p.exists('count.txt')).toBe(true)
    t.keys('C-d')
    expect(await t.exitCode()).toBe('0')
  })

  it('asks in the terminal when an MCP server wants a sampling answer or a form filled (server-everything)', async () => {
    const everything = join(REPO_ROOT, 'node_modules', '.bin', 'mcp-server-everything')
    const p = await project({
      'tau.config.json': config(
        [
          {
            toolCalls: [
              {
                id: 's1',
                name: 'mcp__everything__trigger-sampling-request',
                input: { prompt: 'a haiku', maxTokens: 50 },
              },
            ],
          },
          // The server's sampling request is answered by tau's model: the next turn of the script.
          { text: 'An answer from the sampled model.' },
          { text: 'The server got its sample.' },
          { toolCalls: [{ id: 'e1', name: 'mcp__everything__trigger-elicitation-request', input: {} }] },
          { text: 'Thanks for the form.' },
        ],
        {
          mcpServers: { everything: { command: everything, args: ['stdio'], sampling: true } },
          permissions: { allow: ['mcp__everything'] },
        },
      ),
    })
    const t = open(p)
    await t.waitFor(/Type a prompt/)
    t.type('sample something')
    let screen = await t.waitFor(/The MCP server everything asks the model for a completion/)
    expect(screen).toMatch(/user: Resource trigger-sampling-request context: a haiku/)
    t.keys('1')
    screen = await t.waitFor(/The server got its sample\.\s+\d+ in · /)
    expect(screen).toMatch(/⎿ ✓ mcp__everything__trigger-sampling-request/)
    expect(userTexts(p).join('\n')).toContain('An answer from the sampled model.')

    t.type('fill the form')
    await t.waitFor(/The MCP server everything asks:[\s\S]*Please provide inputs for the following fields:/)
    t.keys('1')
    // [question, text typed, key]: text answers end with Enter; a digit picks a choice at once.
    const answers: Array<[RegExp, string, string]> = [
      [/String — Your full, legal name/, 'Ada Lovelace', 'Enter'],
      [/Boolean \(optional\) — Agree to the terms/, '', '1'],
      [/String with default \(optional\)[\s\S]*stormy night/, '', 'Enter'],
      [/String with email format/, '', 'Enter'],
      [/String with uri format/, '', 'Enter'],
      [/String with date format/, '', 'Enter'],
      [/Integer \(optional\)/, '500', 'Enter'],
      [/a whole number from 1 to 100, please/, '7', 'Enter'],
      [/Number in range 1-1000/, '', 'Enter'],
      [/Untitled Single Select Enum[\s\S]*❯ 1\. Monica/, '', 'Enter'],
      [/Untitled Multiple Select Enum \(optional\)[\s\S]*Guitar, Piano/, '', 'Enter'],
      [/Titled Single Select Enum[\s\S]*Superman \(hero-1\)/, '', 'Enter'],
      [/Titled Multiple Select Enum[\s\S]*Tuna \(fish-1\)/, '', 'Enter'],
      [/Legacy Titled Single Select Enum[\s\S]*Cats \(pet-1\)/, '', 'Enter'],
    ]
    // Each question replaces the one before in the live area, so each pattern matches only
    // while its own question is asked.
    for (const [question, text, key] of answers) {
      await t.waitFor(question)
      if (text !== '') t.keys('-l', text)
      t.keys(key)
    }
    screen = await t.waitFor(/Thanks for the form\.\s+\d+ in · /)
    const texts = userTexts(p).join('\n')
    expect(texts).toContain('- Name: Ada Lovelace')
    expect(texts).toContain('- Agreed to terms: true')
    expect(texts).toContain('- Favorite Integer: 7')
    t.keys('C-d')
    expect(await t.exitCode()).toBe('0')
  })
})
