/** Command hooks from the settings files, and the errors a malformed file or config gives. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bash, harness, hook, project, toolText } from './helpers.js'

describe('hooks from settings files', () => {
  it('runs hooks from .tau/settings.json and .tau/settings.local.json beside those of the config', async () => {
    const p = await project()
    await p.write('.tau/settings.json', JSON.stringify({ hooks: hook('PreToolUse', 'touch from-project') }))
    await p.write(
      '.tau/settings.local.json',
      JSON.stringify({
        permissions: { allow: ['Bash'] },
        hooks: hook('PreToolUse', 'echo "local says no" >&2; exit 2', { matcher: 'Bash' }),
      }),
    )
    const h = await harness({
      project: p,
      hooks: hook('PreToolUse', 'touch from-config'),
      turns: [bash('c1', 'touch ran.txt'), { text: 'ok' }],
    })
    const events = await h.run('go')
    expect(toolText(events, 'c1')).toBe('Permission to use Bash was denied: local says no')
    expect(existsSync(join(p.dir, 'from-project'))).toBe(true)
    expect(existsSync(join(p.dir, 'from-config'))).toBe(true)
    expect(existsSync(join(p.dir, 'ran.txt'))).toBe(false)
  })

  it('skips events and hook types tau does not run, with a warning naming them', async () => {
    const p = await project()
    await p.write(
      '.tau/settings.json',
      JSON.stringify({
        hooks: {
          PreToolUze: [],
          PreToolUse: [{ hooks: [{ type: 'prompt', prompt: 'is this safe?' }] }],
        },
      }),
    )
    const h = await harness({ project: p, turns: [] })
    const warnings = h.warnings().join('\n')
    expect(warnings).toContain('hooks.PreToolUze in')
    expect(warnings).toContain("did you mean 'PreToolUse'?")
    expect(warnings).toMatch(
      /hooks\.PreToolUse\[0\]\.hooks\[0\] in .*settings\.json: hook type "prompt" is not run by tau/,
    )
  })

  it.each([
    [
      'a command of the wrong type',
      { hooks: { PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 42 }] }] } },
      'hooks.PreToolUse[0].hooks[0].command: expected string, got 42',
    ],
    ['hooks that are not an object', { hooks: ['echo'] }, 'hooks: expected an object of events'],
    [
      'a matcher that is not a regular expression',
      { hooks: { PostToolUse: [{ matcher: 'Bash(', hooks: [] }] } },
      'hooks.PostToolUse[0].matcher: not a valid regular expression',
    ],
    [
      'a negative timeout',
      { hooks: { Stop: [{ hooks: [{ type: 'command', command: 'true', timeout: -1 }] }] } },
      'hooks.Stop[0].hooks[0].timeout',
    ],
  ])('a settings file with %s stops tau, naming the file and the field', async (_name, settings, message) => {
    const p = await project()
    const file = await p.write('.tau/settings.local.json', JSON.stringify(settings))
    await expect(harness({ project: p, turns: [] })).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'command-hooks',
      message: expect.stringContaining(`settings file ${file}: ${message}`),
    })
  })

  it('a settings file that is not JSON stops tau with the position', async () => {
    const p = await project()
    const file = await p.write('.tau/settings.json', '{ "hooks": { "Stop": [], } }')
    await expect(harness({ project: p, turns: [] })).rejects.toMatchObject({
      code: 'TAU_CONFIG_LOAD',
      message: expect.stringMatching(
        new RegExp(`settings file ${file} is not valid JSON: line 1, column \\d+`),
      ),
    })
  })

  it('the config slice is checked by its schema: an unknown event or a bad matcher is a config error', async () => {
    const p = await project()
    await expect(harness({ project: p, hooks: { PreToolUze: [] }, turns: [] })).rejects.toMatchObject({
      code: 'TAU_CONFIG_UNKNOWN_KEY',
      message: expect.stringContaining('PreToolUze'),
    })
    await expect(
      harness({ project: p, hooks: { PreToolUse: [{ matcher: '[', hooks: [] }] }, turns: [] }),
    ).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      message: expect.stringContaining('hooks.PreToolUse[0].matcher'),
    })
  })
})
