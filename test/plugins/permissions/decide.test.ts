/**
 * How permission rules match a call: the rule forms (Bash prefix, exact and wildcard, WebFetch
 * domains, MCP servers and tools, bare tools, gitignore-style paths), the wildcard forms of bare
 * rules, path anchors (//absolute, ~/home, ./cwd), '..' and symlinks, and the precedence deny >
 * ask > allow. The modes, compound commands, failing closed and the rules' sources have files of
 * their own (modes, compound-commands, fail-closed, rule-sources.test.ts).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Permissions } from '../../../plugins/permissions/index.js'
import {
  bash,
  edit,
  fetch,
  Grep,
  McpCreateIssue,
  McpListIssues,
  read,
  type Setup,
  setupPermissions,
  TodoWrite,
  Write,
} from './helpers.js'

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
