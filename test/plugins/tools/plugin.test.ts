import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLogger } from 'tau-agent'
import { createTestKernel } from 'tau-agent/testing'
import { describe, expect, it } from 'vitest'
// The kernel's own test kit: tau-agent/testing fills in built-in dependencies such as sandbox.
import { createTestKernel as createBareTestKernel } from '../../../kernel/testing/index.js'
import sandbox, { environmentRef } from '../../../plugins/sandbox/index.js'
import tools, {
  createGlobTool,
  createGrepTool,
  createLsTool,
  createReadTool,
  createToolState,
  globTool,
  grepTool,
  lsTool,
  readTool,
  toOutput,
  toolRegistryRef,
} from '../../../plugins/tools/index.js'

const BUILTINS = [
  'Bash',
  'BashOutput',
  'KillShell',
  'Glob',
  'Grep',
  'LS',
  'Read',
  'Edit',
  'MultiEdit',
  'Write',
  'NotebookEdit',
  'WebFetch',
  'WebSearch',
  'TodoWrite',
  'AskUserQuestion',
]

describe('tools plugin', () => {
  it('provides the registry with every built-in, under Claude Code names', async () => {
    const kernel = await createTestKernel({ plugins: [sandbox, tools] })
    try {
      const registry = kernel.resolve(toolRegistryRef)
      expect(registry.list().map((tool) => tool.name)).toEqual(BUILTINS)
      const definitions = registry.definitions(['Read', 'Grep'])
      expect(definitions.map((d) => d.name)).toEqual(['Read', 'Grep'])
      expect(definitions[0]?.inputSchema).toMatchObject({ type: 'object', required: ['file_path'] })
    } finally {
      await kernel.stop()
    }
  })

  it('leaves out disabled built-ins and warns about names that are not built-ins', async () => {
    const kernel = await createTestKernel({
      plugins: [sandbox, tools],
      config: { tools: { disabled: ['WebFetch', 'Bash', 'Raed'] } },
    })
    try {
      const names = kernel
        .resolve(toolRegistryRef)
        .list()
        .map((tool) => tool.name)
      expect(names).not.toContain('WebFetch')
      expect(names).not.toContain('Bash')
      expect(names).toContain('Read')
      expect(kernel.logs).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          name: 'tools',
          message: expect.stringContaining("no built-in tool 'Raed' (did you mean 'Read'?)"),
        }),
      )
    } finally {
      await kernel.stop()
    }
  })

  it('configures the built-ins from its config slice', async () => {
    const kernel = await createTestKernel({
      plugins: [sandbox, tools],
      config: { tools: { read: { maxLines: 2 } } },
    })
    try {
      const session = kernel.createSession()
      const env = session.resolve(environmentRef)
      await writeFile(join(env.cwd, 'f.txt'), 'a\nb\nc\n')
      const read = kernel.resolve(toolRegistryRef).get('Read')!
      const output = toOutput(
        await read.execute(
          { file_path: 'f.txt' },
          {
            signal: new AbortController().signal,
            env,
            sessionId: session.id,
            callId: 'c1',
            state: createToolState(),
            progress: () => {},
            logger: createLogger('test', { level: 'silent' }),
            model: { vision: false },
          },
        ),
      )
      expect(output.content[0]).toMatchObject({
        type: 'text',
        text: expect.stringContaining('Showing lines 1-2 of 3'),
      })
      await session.dispose()
    } finally {
      await kernel.stop()
    }
  })

  it("with the config's defaults, the limited built-ins are the package's default tools, not made again", async () => {
    const defaults = { Glob: globTool, Grep: grepTool, LS: lsTool, Read: readTool }
    const kernel = await createTestKernel({ plugins: [sandbox, tools] })
    try {
      const registry = kernel.resolve(toolRegistryRef)
      for (const [name, tool] of Object.entries(defaults)) expect(registry.get(name)).toBe(tool)
    } finally {
      await kernel.stop()
    }
    // The same settings given explicitly are the defaults too; any other value (an explicit
    // undefined among them: the tool's spread keeps it) makes a tool of its own, described by it.
    expect(createGrepTool({ headLimit: 250, maxFileBytes: 5 * 1024 * 1024, concurrency: 24 })).toBe(grepTool)
    expect(createReadTool({ maxLines: 2000, maxOutputChars: 256_000 })).toBe(readTool)
    expect(createGlobTool({ limit: 100 })).toBe(globTool)
    expect(createLsTool({ limit: 1000 })).toBe(lsTool)
    const grep = createGrepTool({ headLimit: 7 })
    expect(grep).not.toBe(grepTool)
    expect(grep.description).toContain('(default 7)')
    expect(createReadTool({ maxLines: undefined })).not.toBe(readTool)
    const glob = createGlobTool({ limit: 3 })
    expect(glob).not.toBe(globTool)
    expect(glob.description).toContain('at most 3')
    expect(createLsTool({ limit: 4 }).description).toContain('At most 4 entries')
    expect(createReadTool({ maxLines: 9 })).not.toBe(readTool)
  })

  it('rejects a bad config slice and a missing sandbox, naming the plugin', async () => {
    await expect(
      createTestKernel({ plugins: [sandbox, tools], config: { tools: { glob: { limit: 0 } } } }),
    ).rejects.toMatchObject({ code: 'TAU_CONFIG_INVALID', plugin: 'tools' })
    await expect(createBareTestKernel({ plugins: [tools] })).rejects.toMatchObject({
      message: expect.stringContaining('sandbox'),
    })
  })

  it('createToolState keeps values per state object', () => {
    const one = createToolState()
    const two = createToolState()
    one.set('k', 1)
    expect(one.get('k')).toBe(1)
    expect(two.get('k')).toBeUndefined()
  })
})
