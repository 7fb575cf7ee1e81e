/**
 * Finds and loads the config file with cosmiconfig: `tau.config.{ts,mts,js,mjs,cjs,json}`,
 * `.taurc{,.json,.yaml,.yml,.js,.ts,.mjs,.cjs}` and `package.json#tau`, searched from the working
 * directory upward to the filesystem root; `--config FILE` loads one file directly.
 */
import { existsSync } from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import type { TauConfig } from './config.js'
import { isPlainObject } from './config.js'
import { isTauError, messageOf, TauError } from './errors.js'
import { defaultExport, importModule } from './module-loader.js'

export const SEARCH_PLACES = [
  'tau.config.ts',
  'tau.config.mts',
  'tau.config.js',
  'tau.config.mjs',
  'tau.config.cjs',
  'tau.config.json',
  '.taurc',
  '.taurc.json',
  '.taurc.yaml',
  '.taurc.yml',
  '.taurc.ts',
  '.taurc.js',
  '.taurc.mjs',
  '.taurc.cjs',
  'package.json',
]

export interface LoadedConfig {
  readonly config: TauConfig
  /** Absolute path of the file, or undefined when none was found (an empty config is used). */
  readonly file: string | undefined
}

export interface LoadConfigOptions {
  cwd: string
  tauHome: string
  /** An explicit file (--config); relative to cwd. */
  file?: string | undefined
}

/** First line of a transpiler or parser error, which carries the position, without its stack. */
function loadErrorMessage(error: unknown): string {
  const message = messageOf(error)
  const lines = message.split('\n').filter((line) => line.trim() !== '')
  return lines.slice(0, 3).join(' ').replace(/\s+/g, ' ').trim()
}

export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  // cosmiconfig is CommonJS: bundled with code splitting, its dynamic import has only `default`.
  const loaded = await import('cosmiconfig')
  const cosmiconfig =
    loaded.cosmiconfig ?? (loaded as unknown as { default: typeof loaded }).default.cosmiconfig
  const moduleLoader = async (file: string) => {
    try {
      return defaultExport(await importModule(file, options.tauHome))
    } catch (error) {
      if (isTauError(error)) throw error
      throw new TauError('TAU_CONFIG_LOAD', `cannot load config ${file}: ${loadErrorMessage(error)}`, {
        file,
        cause: error,
      })
    }
  }
  const explorer = cosmiconfig('tau', {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'none',
    cache: false,
    loaders: {
      '.ts': moduleLoader,
      '.mts': moduleLoader,
      '.cts': moduleLoader,
      '.js': moduleLoader,
      '.mjs': moduleLoader,
      '.cjs': moduleLoader,
    },
  })

  let result: { config: unknown; filepath: string; isEmpty?: boolean } | null
  try {
    if (options.file !== undefined) {
      const file = resolvePath(options.cwd, options.file)
      if (!existsSync(file)) {
        throw new TauError('TAU_CONFIG_NOT_FOUND', `config file not found: ${file}`, { file })
      }
      result = await explorer.load(file)
    } else {
      result = null
      // Upward from cwd to the filesystem root; searchStrategy 'global' would also read the
      // OS config directory, which we leave alone.
      let dir = resolvePath(options.cwd)
      for (;;) {
        result = await explorer.search(dir)
        const parent = dirname(dir)
        if (result || parent === dir) break
        dir = parent
      }
    }
  } catch (error) {
    if (isTauError(error)) throw error
    const file = (error as { filepath?: string }).filepath ?? options.file
    throw new TauError(
      'TAU_CONFIG_LOAD',
      `cannot load config${file ? ` ${file}` : ''}: ${loadErrorMessage(error)}`,
      { ...(file ? { file } : {}), cause: error },
    )
  }
  if (!result) return { config: {}, file: undefined }
  let config = result.config
  if (typeof config === 'function') {
    config = await (config as (env: { cwd: string }) => unknown)({ cwd: options.cwd })
  }
  if (config === undefined || config === null || result.isEmpty) config = {}
  if (!isPlainObject(config)) {
    throw new TauError(
      'TAU_CONFIG_SHAPE',
      `config ${result.filepath} exports ${Array.isArray(config) ? 'an array' : typeof config}, not a config object`,
      { file: result.filepath },
    )
  }
  return { config: config as TauConfig, file: result.filepath }
}
