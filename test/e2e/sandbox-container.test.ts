/**
 * `sandbox.mode: 'container'` through the real binary: the scripted model's Bash commands run in
 * a container described by tau.config.json and the project's .devcontainer/devcontainer.json, with
 * the rootfs runtime under real bubblewrap (a root filesystem built here from the host's
 * binaries). A trusted project gets its mounts and postCreateCommand; an untrusted one does not,
 * and tau says so; a field tau cannot honour stops the start with a catalogue error.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { bwrapStatus } from '../../plugins/sandbox/index.js'
import { buildRootfs, ROOTFS_MARKER } from '../plugins/sandbox/rootfs.js'
import { builtinPluginsJson, STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()
const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  await Promise.all(closers.map((close) => close()))
})

const PLUGINS = [
  'providers',
  'provider-openai',
  'trust',
  'sandbox',
  'tools',
  'permissions',
  'agent',
  'headless',
]

/** Tool results of a stream-json run, by tool-use id. */
function toolResults(stdout: string): Map<string, string> {
  const results = new Map<string, string>()
  for (const line of stdout.trim().split('\n')) {
    const event = JSON.parse(line) as { type: string; message?: { content?: unknown } }
    if (event.type !== 'user' || !Array.isArray(event.message?.content)) continue
    for (const block of event.message.content as Array<{
      type: string
      tool_use_id: string
      content: unknown
    }>) {
      if (block.type !== 'tool_result') continue
      results.set(
        block.tool_use_id,
        typeof block.content === 'string' ? block.content : JSON.stringify(block.content),
      )
    }
  }
  return results
}

describe.runIf(bwrapStatus().available || process.env.CI === 'true')(
  'tau start -p with sandbox.mode container',
  () => {
    const rootfs = bwrapStatus().available ? buildRootfs(mkdtempSync(join(tmpdir(), 'tau-e2e-rootfs-'))) : ''
    const data = mkdtempSync(join(tmpdir(), 'tau-e2e-data-'))
    writeFileSync(join(data, 'data.txt'), 'host data\n')
    afterAll(() => {
      for (const dir of [rootfs, data]) rmSync(dir, { recursive: true, force: true })
    })

    const devcontainer = `{
  // what the project's editor would use
  "name": "e2e",
  "remoteUser": "dev",
  "containerEnv": { "FROM_DC": "dc" },
  "remoteEnv": { "REMOTE": "r" },
  "mounts": [{ "source": "${data}", "target": "/data", "type": "bind", "readonly": true }],
  "postCreateCommand": ["sh", "-c", "id -u > post-created.txt"],
}
`
    const probe = `cat ${ROOTFS_MARKER}; id -u; echo "$FROM_TAU $FROM_DC $REMOTE"; cat /data/data.txt 2>&1; cat post-created.txt 2>&1; ls /usr/bin | wc -l`

    async function run(trusted: boolean, devcontainerText = devcontainer) {
      const server = await startScriptedServer({
        format: 'openai',
        script: [{ toolCalls: [{ id: 'c', name: 'Bash', input: { command: probe } }] }, { text: 'done' }],
      })
      closers.push(() => server.close())
      const p = await project({
        '.devcontainer/devcontainer.json': devcontainerText,
        'tau.config.json': builtinPluginsJson(PLUGINS, {
          model: 'openai:scripted-model',
          providers: { openai: { baseURL: `${server.url}/v1` } },
          sandbox: { mode: 'container', container: { rootfs, containerEnv: { FROM_TAU: 'tau' } } },
        }),
      })
      const result = await p.run(
        [
          'start',
          '-p',
          'look around',
          '--output-format',
          'stream-json',
          '--permission-mode',
          'bypassPermissions',
        ],
        { env: { OPENAI_API_KEY: 'sk-test', TAU_TRUST: trusted ? '1' : '0' } },
      )
      return { p, result }
    }

    it('runs Bash in the container the config and a trusted devcontainer.json describe', async () => {
      const { p, result } = await run(true)
      expect(result.code, result.stderr).toBe(0)
      const out = toolResults(result.stdout).get('c')
      // The rootfs (its marker, its few binaries), devcontainer.json's user, tau's and the file's variables,
      // the file's read-only mount, and its postCreateCommand, run as that user before the command.
      expect(out).toContain('tau test container\n1234\ntau dc r\nhost data\n1234\n')
      expect(p.exists('post-created.txt')).toBe(true)
    })

    it('leaves out an untrusted project’s mounts and postCreateCommand, and says so', async () => {
      const { p, result } = await run(false)
      expect(result.code, result.stderr).toBe(0)
      const out = toolResults(result.stdout).get('c')
      expect(out).toContain('tau test container\n1234\ntau dc r\n')
      expect(out).toContain('/data/data.txt: No such file')
      expect(p.exists('post-created.txt')).toBe(false)
      expect(result.stderr).toContain('not trusted')
      expect(result.stderr).toContain('the postCreateCommand of .devcontainer/devcontainer.json')
      expect(result.stderr).toContain('the container mounts of .devcontainer/devcontainer.json (/data)')
    })

    it('refuses a devcontainer.json with runArgs at start, naming the file and field', async () => {
      const { p, result } = await run(true, '{ "image": "debian", "runArgs": ["--privileged"] }')
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain('TAU_SANDBOX_CONTAINER')
      expect(result.stderr).toContain('.devcontainer/devcontainer.json: runArgs: not supported')
      expect(result.stderr).not.toMatch(STACK_LINE)
      expect(existsSync(p.path('post-created.txt'))).toBe(false)
    })
  },
)
