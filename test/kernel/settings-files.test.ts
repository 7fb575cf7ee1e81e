import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { claudeSettingsFile, defaultClaudeHome, resolvePaths, settingsSources } from '../../kernel/index.js'

const saved = { HOME: process.env.HOME, CLAUDE_CONFIG_DIR: process.env.CLAUDE_CONFIG_DIR }
afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
})

// Paths only: nothing here reads a file, so none of these directories need to exist.
describe("Claude Code's user directory", () => {
  it("is the caller's claudeHome when given, whatever $HOME and $CLAUDE_CONFIG_DIR say", () => {
    process.env.HOME = '/decoy-home'
    process.env.CLAUDE_CONFIG_DIR = '/decoy-config'
    const paths = { projectDir: '/p', tauHome: '/t', claudeHome: '/given' }
    expect(claudeSettingsFile('user', paths)).toBe(join('/given', 'settings.json'))
    const files = settingsSources(paths).map((source) => source.file)
    expect(files).toContain(join('/given', 'settings.json'))
    expect(files.some((file) => file.startsWith('/decoy'))).toBe(false)
    expect(resolvePaths({ cwd: '/p', tauHome: '/t', claudeHome: '/given' }).claudeHome).toBe('/given')
  })

  it('defaults to $CLAUDE_CONFIG_DIR, else ~/.claude', () => {
    process.env.HOME = '/decoy-home'
    process.env.CLAUDE_CONFIG_DIR = '/from-env'
    expect(resolvePaths({ cwd: '/p', tauHome: '/t' }).claudeHome).toBe('/from-env')
    expect(claudeSettingsFile('user', { projectDir: '/p', tauHome: '/t' })).toBe(
      join('/from-env', 'settings.json'),
    )
    delete process.env.CLAUDE_CONFIG_DIR
    expect(defaultClaudeHome()).toBe(join('/decoy-home', '.claude'))
    expect(defaultClaudeHome({ CLAUDE_CONFIG_DIR: '/x' })).toBe('/x')
  })
})
