/**
 * node-llama-cpp tests its native binary before it loads it (on Linux at each getLlama() of a
 * prebuilt binary): it forks a node process (its testBindingBinary.js) that loads the binary and
 * starts llama.cpp, about 0.6 s of CPU in every tau process that uses a local model. getLlama()
 * has no option to skip it (`build`, `usePrebuiltBinaries`, `skipDownload` choose which binary;
 * `dryRun` loads none). tau keeps a test that passed under `$TAU_HOME/cache/llama-binary-test`,
 * keyed by the binary (path, size, mtime, inode of it and of its backends' library) and by what
 * it was tested with (Node's version and ABI, the OS release, the arch and CPU model, the gpu
 * option, the test's own file): a later process with the same key is answered from it, without
 * the fork. A test that failed is never kept, so a broken binary fails in every process, with
 * node-llama-cpp's own message and tau's error; a binary that changes is tested again.
 *
 * How: testBindingBinary.js imports `fork` from node:child_process. During getLlama() only, that
 * export is wrapped (module.syncBuiltinESMExports(), Node's documented way to update the bindings
 * of builtin modules); a fork of that file (and nothing else) gets a stand-in that speaks the
 * test's protocol (ready, start, loaded, test, done, exit): from the kept pass, or else by
 * forwarding to the real fork and keeping its pass. Only for the node-llama-cpp version tau pins.
 */
import type { ChildProcess, ForkOptions } from 'node:child_process'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { cpus, release } from 'node:os'
import { basename, dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const childProcess = require('node:child_process') as typeof import('node:child_process')

/** What the test process is told to test (its `start` and `test` messages). */
interface TestMessage {
  readonly type: string
  readonly bindingBinaryPath?: string
  readonly extBackendsPath?: string
  readonly gpu?: unknown
}

export interface BinaryTestOptions {
  /** Where passes are kept: `$TAU_HOME/cache/llama-binary-test`. */
  readonly dir: string
  /** The node-llama-cpp version whose test protocol this speaks. */
  readonly version: string
}

/** How the tests of this process went: answered from a kept pass, or forked. */
export const binaryTestCounts = { kept: 0, forked: 0 }

/** The installed node-llama-cpp version next to its test file (`<pkg>/dist/bindings/utils/…`). */
function versionOf(testFile: string): string | undefined {
  try {
    const pkg = JSON.parse(
      readFileSync(join(dirname(testFile), '..', '..', '..', 'package.json'), 'utf8'),
    ) as {
      name?: string
      version?: string
    }
    return pkg.name === 'node-llama-cpp' ? pkg.version : undefined
  } catch {
    return undefined
  }
}

function fileKey(path: string | undefined): string | undefined {
  if (path === undefined) return undefined
  const stat = statSync(path)
  return `${path}:${stat.size}:${stat.mtimeMs}:${stat.ino}`
}

/** The kept pass's file for this test, or undefined when a file cannot be read (tested again). */
function keptFile(dir: string, testFile: string, message: TestMessage): string | undefined {
  try {
    const key = JSON.stringify({
      binary: fileKey(message.bindingBinaryPath),
      backends: fileKey(message.extBackendsPath),
      gpu: message.gpu,
      test: fileKey(testFile),
      node: process.version,
      abi: process.versions.modules,
      arch: process.arch,
      os: release(),
      cpu: cpus()[0]?.model,
    })
    return join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`)
  } catch {
    return undefined
  }
}

function keep(file: string, message: TestMessage): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
    const temp = `${file}.${process.pid}.tmp`
    writeFileSync(temp, `${JSON.stringify({ binary: message.bindingBinaryPath, passedAt: new Date() })}\n`)
    renameSync(temp, file)
  } catch {
    // Not kept: the next process tests again.
  }
}

/** Stands in for the test's child process; see the file's comment. */
class TestStandIn extends EventEmitter {
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  killed = false
  readonly stdout = null
  readonly stderr = null
  private real: ChildProcess | undefined
  private start: TestMessage | undefined
  private kept: string | undefined
  private passed = false

  constructor(
    private readonly dir: string,
    private readonly forkReal: () => ChildProcess,
    private readonly testFile: string,
  ) {
    super()
    // The real test process's first word.
    setImmediate(() => this.emit('message', { type: 'ready' }))
  }

  send(message: TestMessage): boolean {
    if (this.real) return this.real.send(message)
    if (message.type === 'start') {
      this.start = message
      this.kept = keptFile(this.dir, this.testFile, message)
      if (this.kept !== undefined && existsSync(this.kept)) {
        binaryTestCounts.kept++
        setImmediate(() => this.emit('message', { type: 'loaded' }))
      } else this.forward()
    } else if (message.type === 'test') setImmediate(() => this.emit('message', { type: 'done' }))
    else if (message.type === 'exit') setImmediate(() => this.exit(0, null))
    return true
  }

  /** No kept pass: the real test runs, told what this one was told; its pass is kept. */
  private forward(): void {
    binaryTestCounts.forked++
    const real = this.forkReal()
    this.real = real
    real.on('message', (message: TestMessage) => {
      if (message.type === 'ready') {
        if (this.start) real.send(this.start)
        return
      }
      if (message.type === 'done') this.passed = true
      this.emit('message', message)
    })
    real.on('exit', (code, signal) => {
      if (code === 0 && this.passed && this.kept !== undefined && this.start) keep(this.kept, this.start)
      this.exit(code, signal)
    })
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitCode !== null || this.signalCode !== null) return
    this.exitCode = code
    this.signalCode = signal
    this.emit('exit', code, signal)
  }

  kill(signal?: NodeJS.Signals): boolean {
    this.killed = true
    if (this.real) return this.real.kill(signal)
    setImmediate(() => this.exit(null, signal ?? 'SIGTERM'))
    return true
  }
}

/** getLlama() calls running (they may overlap): the wrap stays while one runs. */
let active = 0
const original = childProcess.fork

/** Runs `getLlama` with node-llama-cpp's binary test answered from (and kept under) `options.dir`. */
export async function withKeptBinaryTest<T>(
  options: BinaryTestOptions,
  getLlama: () => Promise<T>,
): Promise<T> {
  if (active++ === 0) {
    childProcess.fork = ((modulePath: string | URL, ...rest: unknown[]) => {
      const file = typeof modulePath === 'string' ? modulePath : modulePath.pathname
      const forkOptions = (Array.isArray(rest[0]) ? rest[1] : rest[0]) as ForkOptions | undefined
      const real = () => (original as (...args: unknown[]) => ChildProcess)(modulePath, ...rest)
      if (
        !basename(file).startsWith('testBindingBinary') ||
        forkOptions?.env?.TEST_BINDING_CP !== 'true' ||
        versionOf(file) !== options.version
      )
        return real()
      return new TestStandIn(options.dir, real, file) as unknown as ChildProcess
    }) as typeof childProcess.fork
    syncBuiltinESMExports()
  }
  try {
    return await getLlama()
  } finally {
    if (--active === 0) {
      childProcess.fork = original
      syncBuiltinESMExports()
    }
  }
}
