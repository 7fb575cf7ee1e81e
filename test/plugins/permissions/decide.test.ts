import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type Permissions, parseRuleList, permissionsRef } from '../../../plugins/permissions/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import type { Tool } from '../../../plugins/tools/tool.js'
import {
  Bash,
  Edit,
  Grep,
  McpCreateIssue,
  McpListIssues,
  Read,
  type Setup,
  setupPermissions,
  TodoWrite,
  WebFetch,
  Write,
} from './helpers.js'

const bash = (p: Permissions, command: string) => p.decide(Bash, { command })
const read = (p: Permissions, file_path: string) => p.decide(Read, { file_path })
const edit = (p: Permissions, file_path: string) =>
  p.decide(Edit, { file_path, old_string: 'a', new_string: 'b' })
const fetch = (p: Permissions, url: string) => p.decide(WebFetch, { url, prompt: 'summarize' })

describe('rule forms', () => {
  let s: Setup
  let p: Permissions
  beforeAll(async () => {
    s = await setupPermissions({
      config: {
        allow: [
          'Bash(npm test:*)',
          'Bash(npm run build)',
          'Bash(git * main)',
          'Bash(ls *)',
          'WebFetch(domain:example.com)',
          'WebFetch(domain:*.docs.dev)',
          'mcp__github',
          'TodoWrite',
        ],
        deny: ['mcp__github__create_issue', 'Read(*.env)', 'Edit(/config/**)'],
      },
    })
    p = s.permissions
  })
  afterAll(() => s.cleanup())

  it('a prefix rule Bash(npm test:*) matches the command and its arguments at a word boundary', () => {
    expect(bash(p, 'npm test')).toMatchObject({ behavior: 'allow', rule: { text: 'Bash(npm test:*)' } })
    expect(bash(p, 'npm test -- --watch').behavior).toBe('allow')
    expect(bash(p, 'npm   test')).toMatchObject({ behavior: 'allow' })
    expect(bash(p, 'npm testing')).toMatchObject({ behavior: 'ask', mode: 'default' })
    expect(bash(p, 'npm tes')).toMatchObject({ behavior: 'ask' })
  })

  it('an exact rule Bash(npm run build) matches only that command', () => {
    expect(bash(p, 'npm run build')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Bash(npm run build)' },
    })
    expect(bash(p, 'npm run build --prod').behavior).toBe('ask')
    expect(bash(p, 'npm run buil').behavior).toBe('ask')
  })

  it('wildcards match anywhere; a trailing " *" also matches the bare command but keeps the word boundary', () => {
    expect(bash(p, 'git push origin main').behavior).toBe('allow')
    expect(bash(p, 'git push origin dev').behavior).toBe('ask')
    expect(bash(p, 'ls').behavior).toBe('allow')
    expect(bash(p, 'ls -la /tmp').behavior).toBe('allow')
    expect(bash(p, 'lsof').behavior).toBe('ask')
  })

  it('WebFetch(domain:x) matches that host only; domain:*.x its subdomains', () => {
    expect(fetch(p, 'https://example.com/page')).toMatchObject({ behavior: 'allow' })
    expect(fetch(p, 'http://EXAMPLE.com./x').behavior).toBe('allow')
    expect(fetch(p, 'https://api.example.com/').behavior).toBe('ask')
    expect(fetch(p, 'https://example.com.evil.net/').behavior).toBe('ask')
    expect(fetch(p, 'https://user@evil.net/?example.com').behavior).toBe('ask')
    expect(fetch(p, 'https://a.docs.dev/x').behavior).toBe('allow')
    expect(fetch(p, 'https://docs.dev/x').behavior).toBe('ask')
  })

  it('mcp__server covers every tool of the server; mcp__server__tool one tool', () => {
    expect(p.decide(McpListIssues, {})).toMatchObject({ behavior: 'allow', rule: { text: 'mcp__github' } })
    expect(p.decide(McpCreateIssue, { title: 'x' })).toMatchObject({
      behavior: 'deny',
      rule: { text: 'mcp__github__create_issue' },
    })
  })

  it('a bare tool name matches every use of the tool', () => {
    expect(p.decide(TodoWrite, { todos: [] })).toMatchObject({
      behavior: 'allow',
      rule: { text: 'TodoWrite' },
    })
  })

  it('path patterns follow gitignore: a pattern without a slash matches at any depth', () => {
    expect(read(p, join(s.dir, '.env'))).toMatchObject({ behavior: 'deny', rule: { text: 'Read(*.env)' } })
    expect(read(p, join(s.dir, 'deploy', 'prod.env')).behavior).toBe('deny')
    expect(read(p, 'local.env').behavior).toBe('deny')
    expect(read(p, join(s.dir, 'env.txt')).behavior).toBe('allow')
  })

  it('Read rules cover the other read tools (Grep), Edit rules the other edit tools (Write)', () => {
    expect(p.decide(Grep, { pattern: 'x', path: join(s.dir, 'prod.env') }).behavior).toBe('deny')
    expect(p.decide(Write, { file_path: join(s.dir, 'config', 'app.json'), content: '' })).toMatchObject({
      behavior: 'deny',
      rule: { text: 'Edit(/config/**)' },
    })
  })

  it('/path is relative to the project root', () => {
    expect(edit(p, join(s.dir, 'config', 'a', 'b.json')).behavior).toBe('deny')
    expect(edit(p, join(s.dir, 'src', 'config', 'b.json')).behavior).toBe('ask')
  })
})

describe('wildcard forms of bare rules', () => {
  it('mcp__server__* is every tool of the server; Bash(*) is every command', async () => {
    const s = await setupPermissions({ config: { allow: ['mcp__github__*', 'Bash(*)'] } })
    try {
      expect(s.permissions.decide(McpCreateIssue, { title: 'x' })).toMatchObject({
        behavior: 'allow',
        rule: { text: 'mcp__github__*' },
      })
      expect(bash(s.permissions, 'make && make install $(whoami)')).toMatchObject({
        behavior: 'allow',
        rule: { text: 'Bash(*)' },
      })
      expect(s.permissions.problems()).toEqual([])
    } finally {
      await s.cleanup()
    }
  })
})

describe('path rule anchors: //absolute, ~/home, ./cwd', () => {
  let s: Setup
  let other: string
  let home: string
  const savedHome = process.env.HOME
  beforeAll(async () => {
    other = await mkdtemp(join(tmpdir(), 'tau-perm-other-'))
    home = await mkdtemp(join(tmpdir(), 'tau-perm-fakehome-'))
    // os.homedir() follows $HOME: the test never looks at the real home directory.
    process.env.HOME = home
    s = await setupPermissions({
      config: {
        allow: [`Read(/${other}/public/**)`, 'Read(~/notes/*.md)', 'Edit(./src/**)'],
        deny: ['Read(~/.ssh/**)'],
      },
    })
  })
  afterAll(async () => {
    process.env.HOME = savedHome
    await s.cleanup()
    await rm(other, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  })

  it('//abs matches the absolute path, outside the workspace too', () => {
    expect(read(s.permissions, join(other, 'public', 'a', 'b.txt'))).toMatchObject({ behavior: 'allow' })
    expect(read(s.permissions, join(other, 'private.txt')).behavior).toBe('ask')
  })

  it('~/ is the home directory', () => {
    expect(read(s.permissions, join(home, 'notes', 'todo.md')).behavior).toBe('allow')
    expect(read(s.permissions, join(home, 'notes', 'deep', 'todo.md')).behavior).toBe('ask')
    expect(read(s.permissions, join(home, '.ssh', 'id_ed25519')).behavior).toBe('deny')
  })

  it('./ is relative to the session working directory', () => {
    expect(edit(s.permissions, 'src/app.ts').behavior).toBe('allow')
    expect(edit(s.permissions, join(s.dir, 'test', 'app.ts')).behavior).toBe('ask')
  })
})

describe('precedence: deny > ask > allow', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({
      config: {
        allow: ['Bash', 'Edit(./src/**)', 'WebFetch'],
        ask: ['Bash(git push:*)', 'Edit(./src/generated/**)'],
        deny: ['Bash(rm:*)', 'Edit(./src/generated/secret.ts)', 'WebFetch(domain:evil.net)'],
      },
    })
  })
  afterAll(() => s.cleanup())

  it('a deny rule beats an allow and an ask rule that match too', () => {
    expect(bash(s.permissions, 'rm -rf build')).toMatchObject({
      behavior: 'deny',
      rule: { text: 'Bash(rm:*)' },
    })
    expect(edit(s.permissions, 'src/generated/secret.ts')).toMatchObject({
      behavior: 'deny',
      rule: { text: 'Edit(./src/generated/secret.ts)' },
    })
    expect(fetch(s.permissions, 'https://evil.net/').behavior).toBe('deny')
  })

  it('an ask rule beats an allow rule', () => {
    expect(bash(s.permissions, 'git push origin main')).toMatchObject({
      behavior: 'ask',
      rule: { text: 'Bash(git push:*)' },
    })
    expect(edit(s.permissions, 'src/generated/types.ts').behavior).toBe('ask')
  })

  it('the allow rule decides what no stricter rule matches', () => {
    expect(bash(s.permissions, 'git status')).toMatchObject({ behavior: 'allow', rule: { text: 'Bash' } })
    expect(edit(s.permissions, 'src/index.ts').behavior).toBe('allow')
    expect(fetch(s.permissions, 'https://example.com/').behavior).toBe('allow')
  })

  it('a deny in one part of a compound command denies it even under a bare allow', () => {
    expect(bash(s.permissions, 'make && rm -rf /')).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining("the part 'rm -rf /'"),
    })
  })
})

describe('modes', () => {
  let s: Setup
  let outside: string
  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'tau-perm-outside-'))
    s = await setupPermissions({
      config: {
        allow: ['Bash(npm test:*)'],
        ask: ['Bash(git push:*)'],
        deny: ['Bash(rm:*)', 'Read(./secret.txt)'],
      },
      before: async (dir) => {
        await mkdir(join(dir, 'src'))
        await symlink(outside, join(dir, 'src', 'escape'))
      },
    })
  })
  afterEach(() => s.permissions.setMode('default'))
  afterAll(async () => {
    await s.cleanup()
    await rm(outside, { recursive: true, force: true })
  })

  it('default: read-only tools inside the workspace run; everything else asks', () => {
    const p = s.permissions
    expect(p.mode).toBe('default')
    expect(read(p, 'src/a.ts')).toMatchObject({ behavior: 'allow', mode: 'default' })
    expect(read(p, join(outside, 'x.txt'))).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('outside the workspace'),
    })
    expect(edit(p, 'src/a.ts')).toMatchObject({ behavior: 'ask', mode: 'default' })
    expect(bash(p, 'make')).toMatchObject({ behavior: 'ask', mode: 'default' })
    // Read-only but reaching the network: asked, with the rule that would allow it.
    expect(fetch(p, 'https://example.com/')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('WebFetch(domain:example.com)'),
    })
    // No annotations: not known to be read-only.
    expect(p.decide(TodoWrite, { todos: [] }).behavior).toBe('ask')
  })

  it('acceptEdits: edits inside the workspace run; edits outside it, symlink escapes and Bash ask', () => {
    const p = s.permissions
    p.setMode('acceptEdits')
    expect(edit(p, 'src/a.ts')).toMatchObject({ behavior: 'allow', mode: 'acceptEdits' })
    expect(p.decide(Write, { file_path: join(s.dir, 'new', 'file.ts'), content: '' }).behavior).toBe('allow')
    expect(edit(p, join(outside, 'a.ts')).behavior).toBe('ask')
    expect(edit(p, 'src/escape/a.ts')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('workspace'),
    })
    expect(edit(p, 'src/../../elsewhere.ts').behavior).toBe('ask')
    expect(bash(p, 'make').behavior).toBe('ask')
    expect(bash(p, 'npm test').behavior).toBe('allow')
  })

  it('plan: only read-only tools run; the others are denied with a reason about plan mode, allow rules included', () => {
    const p = s.permissions
    p.setMode('plan')
    expect(read(p, 'src/a.ts').behavior).toBe('allow')
    expect(edit(p, 'src/a.ts')).toMatchObject({
      behavior: 'deny',
      mode: 'plan',
      reason: expect.stringContaining('plan mode'),
    })
    expect(bash(p, 'npm test')).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining('plan mode'),
    })
    // Deny rules still name themselves.
    expect(read(p, 'secret.txt')).toMatchObject({ behavior: 'deny', rule: { text: 'Read(./secret.txt)' } })
  })

  it('bypassPermissions: everything runs, but deny rules still deny and ask rules still ask', () => {
    const p = s.permissions
    p.setMode('bypassPermissions')
    expect(bash(p, 'make install')).toMatchObject({ behavior: 'allow', mode: 'bypassPermissions' })
    expect(edit(p, join(outside, 'a.ts')).behavior).toBe('allow')
    expect(bash(p, 'echo $(date)').behavior).toBe('allow')
    expect(bash(p, 'make && rm -rf /').behavior).toBe('deny')
    expect(bash(p, 'git push').behavior).toBe('ask')
  })

  it("a tool whose annotations are not trusted (an MCP server's hints) is never allowed for them", () => {
    const untrusted = { ...McpListIssues, annotationsTrusted: false } as Tool
    expect(s.permissions.decide(McpListIssues, {})).toMatchObject({ behavior: 'allow' })
    expect(s.permissions.decide(untrusted, {})).toMatchObject({ behavior: 'ask' })
    s.permissions.setMode('plan')
    expect(s.permissions.decide(untrusted, {})).toMatchObject({ behavior: 'deny' })
  })

  it('setMode refuses what is not a mode', () => {
    expect(() => s.permissions.setMode('yolo' as never)).toThrow(/not a permission mode/)
    expect(s.permissions.mode).toBe('default')
  })

  it('each session has its own mode and session rules', async () => {
    const other = s.kernel.createSession().resolve(permissionsRef)
    s.permissions.setMode('plan')
    await s.permissions.addRule('Bash(make)', 'allow')
    expect(other.mode).toBe('default')
    expect(bash(other, 'make').behavior).toBe('ask')
    s.permissions.setMode('default')
    expect(bash(s.permissions, 'make')).toMatchObject({
      behavior: 'allow',
      rule: { source: { scope: 'session' } },
    })
  })
})

describe('compound commands, part by part', () => {
  let s: Setup
  let p: Permissions
  beforeAll(async () => {
    s = await setupPermissions({
      config: {
        allow: ['Bash(npm test:*)', 'Bash(npm run lint)', 'Bash(echo:*)', 'Bash(date)', 'Bash(tee:*)'],
        deny: ['Bash(rm:*)', 'Bash(curl * | sh)'],
      },
    })
    p = s.permissions
  })
  afterAll(() => s.cleanup())

  it('allows only when every part is allowed', () => {
    expect(bash(p, 'npm test && npm run lint')).toMatchObject({
      behavior: 'allow',
      reason: expect.stringContaining("'npm run lint' by Bash(npm run lint)"),
    })
    expect(bash(p, 'npm test | tee out.txt').behavior).toBe('allow')
    expect(bash(p, 'npm test; npm run lint\nnpm test -- a').behavior).toBe('allow')
    expect(bash(p, '(npm test) && { npm run lint; }').behavior).toBe('allow')
    for (const command of [
      'npm test && make',
      'npm test || make',
      'npm test; make',
      'npm test | make',
      'npm test & make',
      'npm test\nmake',
    ]) {
      expect({ command, ...bash(p, command) }).toMatchObject({
        command,
        behavior: 'ask',
        reason: expect.stringContaining("the part 'make'"),
      })
    }
  })

  it('denies when any part is denied, however it is hidden', () => {
    for (const command of [
      'npm test && rm -rf /',
      'npm test; rm -rf /',
      'npm test | rm -rf /',
      'echo $(rm -rf /)',
      'echo `rm -rf /`',
      '(cd x; rm -rf y)',
      'if true; then rm -rf y; fi',
      'sudo rm -rf /',
      'FOO=1 rm -rf /',
      'command rm -rf /',
      '"rm" -rf /',
      'eval "rm -rf /"',
      "bash -c 'cd /tmp && rm -rf x'",
      'echo ok\nrm -rf /',
    ]) {
      expect({ command, ...bash(p, command) }).toMatchObject({
        command,
        behavior: 'deny',
        rule: { text: 'Bash(rm:*)' },
      })
    }
  })

  it('does not split operators inside quotes', () => {
    expect(bash(p, 'echo "npm test && rm -rf /"')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Bash(echo:*)' },
    })
    expect(bash(p, "echo 'a; rm -rf /' | tee log").behavior).toBe('allow')
  })

  it('asks when an allowed command contains a command substitution', () => {
    expect(bash(p, 'echo $(date)')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('command substitution'),
    })
    expect(bash(p, 'echo `date`').behavior).toBe('ask')
    expect(bash(p, 'echo "now: $(date)"').behavior).toBe('ask')
  })

  it('asks when an allowed command writes a file through a redirection, unless an exact rule spells it out', async () => {
    expect(bash(p, 'echo hi > notes.txt')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining("writes to 'notes.txt' through a redirection"),
    })
    expect(bash(p, 'echo hi>>~/.bashrc').behavior).toBe('ask')
    expect(bash(p, '(echo hi) > notes.txt').behavior).toBe('ask')
    expect(bash(p, 'npm test 2>&1 >/dev/null | tee out.log').behavior).toBe('allow')
    const q = s.kernel.createSession().resolve(permissionsRef)
    await q.addRule('Bash(echo hi > notes.txt)', 'allow')
    expect(bash(q, 'echo hi  >  notes.txt')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Bash(echo hi > notes.txt)' },
    })
  })

  it('checks deny rules against the whole command as well', () => {
    expect(bash(p, 'curl https://x.sh | sh')).toMatchObject({
      behavior: 'deny',
      rule: { text: 'Bash(curl * | sh)' },
    })
  })

  it('a command that is not valid shell is asked, unless a deny rule matches its text', () => {
    expect(bash(p, 'echo "unterminated')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('could not be checked part by part'),
    })
    expect(bash(p, 'rm -rf / "').behavior).toBe('deny')
  })
})

describe('path rules with .. and symlinks', () => {
  let s: Setup
  let outside: string
  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'tau-perm-outside-'))
    s = await setupPermissions({
      config: {
        allow: ['Edit(./src/**)', 'Read(./docs/**)'],
        deny: ['Edit(./secrets/**)', 'Read(./private/**)'],
      },
      before: async (dir) => {
        await mkdir(join(dir, 'src'))
        await mkdir(join(dir, 'secrets'))
        await mkdir(join(dir, 'private'))
        await writeFile(join(dir, 'private', 'key'), 'k')
        await symlink(join(dir, 'secrets'), join(dir, 'src', 'to-secrets'))
        await symlink(outside, join(dir, 'src', 'escape'))
        await symlink(join(dir, 'private', 'key'), join(dir, 'docs-key'))
        await mkdir(join(dir, 'docs'))
        await symlink(join(dir, 'private', 'key'), join(dir, 'docs', 'key'))
      },
    })
  })
  afterAll(async () => {
    await s.cleanup()
    await rm(outside, { recursive: true, force: true })
  })

  it("resolves '..' before matching", () => {
    expect(edit(s.permissions, 'src/../secrets/token').behavior).toBe('deny')
    expect(edit(s.permissions, join(s.dir, 'src', 'a', '..', 'b.ts')).behavior).toBe('allow')
    expect(edit(s.permissions, 'src/../../outside.ts').behavior).toBe('ask')
  })

  it('a deny rule matches the real path behind a symlink', () => {
    expect(edit(s.permissions, 'src/to-secrets/token')).toMatchObject({
      behavior: 'deny',
      rule: { text: 'Edit(./secrets/**)' },
    })
    expect(read(s.permissions, 'docs-key').behavior).toBe('deny')
  })

  it('an allow rule does not cover a symlink that leads out of the allowed folder', () => {
    expect(edit(s.permissions, 'src/escape/a.ts').behavior).toBe('ask')
    // docs/key is under an allowed folder, but it is the private key: deny wins on the real path.
    expect(read(s.permissions, 'docs/key').behavior).toBe('deny')
  })
})

describe('malformed input and unknown tools fail closed', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({ config: { allow: ['Bash', 'Read', 'Edit'], deny: ['Edit(./locked/**)'] } })
  })
  afterAll(() => s.cleanup())

  it('input that does not match the tool schema is denied, even under a bare allow', () => {
    expect(s.permissions.decide(Bash, { command: 42 })).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining('does not match its schema'),
    })
    expect(s.permissions.decide(Read, {}).behavior).toBe('deny')
    expect(s.permissions.decide(Read, null).behavior).toBe('deny')
  })

  it('a tool whose permission target throws is denied', () => {
    const broken = defineTool({
      name: 'Broken',
      description: 'x',
      input: z.object({}),
      annotations: { readOnly: true },
      permissionTarget: () => {
        throw new Error('boom')
      },
      execute: async () => '',
    }) as Tool
    expect(s.permissions.decide(broken, {})).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining('boom'),
    })
  })

  it('something that is not a tool is denied', () => {
    expect(s.permissions.decide(undefined as unknown as Tool, {}).behavior).toBe('deny')
  })

  it('an edit tool that gives no path cannot be checked against a path deny rule: asked, not allowed', () => {
    const pathless = defineTool({
      name: 'Patch',
      description: 'x',
      input: z.object({ file_path: z.string().optional() }),
      access: 'edit',
      permissionTarget: (i) => i.file_path,
      execute: async () => '',
    }) as Tool
    expect(s.permissions.decide(pathless, {})).toMatchObject({
      behavior: 'ask',
      rule: { text: 'Edit(./locked/**)' },
    })
    expect(s.permissions.decide(pathless, { file_path: 'src/a.ts' }).behavior).toBe('allow')
  })

  it('a tool without annotations is not assumed read-only', () => {
    const mystery = defineTool({
      name: 'Mystery',
      description: 'x',
      input: z.object({}),
      execute: async () => '',
    }) as Tool
    expect(s.permissions.decide(mystery, {})).toMatchObject({ behavior: 'ask', mode: 'default' })
  })

  it('explain of a tool nobody registered says so and does not allow', () => {
    expect(s.permissions.explain('Frobnicate(x)')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining("no tool named 'Frobnicate'"),
    })
    expect(s.permissions.explain('Bash(').behavior).toBe('deny')
  })
})

describe('session and command-line rules', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({ config: { allow: ['WebFetch'] } })
  })
  afterAll(() => s.cleanup())

  it('setCliRules adds rules with the cli source, and replaces earlier ones', () => {
    s.permissions.setCliRules({
      allow: parseRuleList('Bash(git log:*) Read,Edit(docs/**)'),
      deny: ['WebFetch'],
    })
    expect(bash(s.permissions, 'git log --oneline')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Bash(git log:*)', source: { scope: 'cli' } },
    })
    expect(fetch(s.permissions, 'https://example.com/')).toMatchObject({
      behavior: 'deny',
      rule: { source: { scope: 'cli' } },
    })
    s.permissions.setCliRules({ allow: ['Bash(make)'] })
    expect(bash(s.permissions, 'git log').behavior).toBe('ask')
    expect(fetch(s.permissions, 'https://example.com/').behavior).toBe('allow')
    expect(s.permissions.rules()[0]).toEqual({
      text: 'Bash(make)',
      behavior: 'allow',
      source: { scope: 'cli' },
    })
  })

  it('setCliRules refuses a rule that is not rule syntax, naming the flag', () => {
    expect(() => s.permissions.setCliRules({ deny: ['Bash(rm'] })).toThrow(
      expect.objectContaining({
        code: 'TAU_CLI_USAGE',
        message: expect.stringContaining('--disallowed-tools'),
      }),
    )
  })

  it('parseRuleList splits on commas and spaces outside parentheses', () => {
    expect(parseRuleList(['Bash(npm run test:*) Read', 'Edit(a b/**),WebFetch(domain:x.dev)'])).toEqual([
      'Bash(npm run test:*)',
      'Read',
      'Edit(a b/**)',
      'WebFetch(domain:x.dev)',
    ])
  })

  it('addRule refuses what is not a rule', async () => {
    await expect(s.permissions.addRule('Bash(', 'allow')).rejects.toThrow(/not a permission rule/)
  })
})

describe('Network(domain:...) rules: what a sandboxed process may reach beyond the allowlist', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({
      config: {
        allow: ['Network(domain:registry.npmjs.org)', 'Network(domain:*.pypi.org)'],
        ask: ['Network(domain:files.pypi.org)'],
        deny: ['Network(domain:evil.example)'],
      },
    })
  })
  afterAll(() => s.cleanup())

  it('decides deny > ask > allow, then the mode asks; the rules are known (no problem reported)', () => {
    const p = s.permissions
    expect(p.decideNetwork?.('registry.npmjs.org')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Network(domain:registry.npmjs.org)' },
    })
    expect(p.decideNetwork?.('REGISTRY.npmjs.org.')).toMatchObject({ behavior: 'allow' })
    expect(p.decideNetwork?.('upload.pypi.org')).toMatchObject({ behavior: 'allow' })
    expect(p.decideNetwork?.('files.pypi.org')).toMatchObject({
      behavior: 'ask',
      rule: { text: 'Network(domain:files.pypi.org)' },
    })
    expect(p.decideNetwork?.('evil.example')).toMatchObject({ behavior: 'deny' })
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'ask', mode: 'default' })
    expect(p.explain('Network(domain:registry.npmjs.org)')).toMatchObject({ behavior: 'allow' })
    expect(p.problems()).toEqual([])
  })

  it('plan and dontAsk modes deny a host no rule allows; bypassPermissions allows it', () => {
    const p = s.permissions
    p.setMode('plan')
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'deny', mode: 'plan' })
    p.setMode('dontAsk')
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'deny' })
    expect(p.decideNetwork?.('registry.npmjs.org')).toMatchObject({ behavior: 'allow' })
    p.setMode('bypassPermissions')
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'allow' })
    expect(p.decideNetwork?.('evil.example')).toMatchObject({ behavior: 'deny' })
    p.setMode('default')
  })

  it('reports a Network rule without a domain', async () => {
    const bad = await setupPermissions({ config: { allow: ['Network(example.com)'] } })
    try {
      expect(bad.permissions.problems()).toEqual([
        expect.objectContaining({
          rule: 'Network(example.com)',
          message: expect.stringContaining('Network(domain:example.com)'),
        }),
      ])
    } finally {
      await bad.cleanup()
    }
  })
})

describe("a Bash decision's reason", () => {
  it('names the part of the command a deny or ask rule matched; a bare ask rule asks for every command', async () => {
    const s = await setupPermissions({ config: { deny: ['Bash(rm:*)'], ask: ['Bash(git push:*)'] } })
    try {
      expect(bash(s.permissions, 'ls && rm -rf x')).toMatchObject({
        behavior: 'deny',
        rule: { text: 'Bash(rm:*)' },
        reason: expect.stringMatching(
          /^the command 'ls && rm -rf x' \(the part 'rm -rf x'\) is denied by .*Bash\(rm:\*\)/,
        ),
      })
      expect(bash(s.permissions, 'git push origin')).toMatchObject({
        behavior: 'ask',
        rule: { text: 'Bash(git push:*)' },
        reason: expect.stringMatching(/^the command 'git push origin' needs approval: .*Bash\(git push:\*\)/),
      })
    } finally {
      await s.cleanup()
    }
    const bare = await setupPermissions({ config: { ask: ['Bash'], allow: ['Bash(ls:*)'] } })
    try {
      expect(bash(bare.permissions, 'ls -la')).toMatchObject({
        behavior: 'ask',
        rule: { text: 'Bash' },
        reason: expect.stringMatching(/^the command 'ls -la' needs approval: /),
      })
    } finally {
      await bare.cleanup()
    }
  })
})
