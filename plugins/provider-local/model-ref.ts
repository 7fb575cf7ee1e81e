/**
 * `local:` model refs: a GGUF file on disk (`local:./models/x.gguf`), or a file of a Hugging Face
 * repository (`local:hf:USER/REPO/FILE.gguf`, `local:hf:USER/REPO:QUANT`), kept under the
 * models directory as `hf/USER/REPO/FILE.gguf` once `tau models pull` has fetched it.
 */
import { existsSync, readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { TauError } from '../../kernel/index.js'
import { LOCAL_ERRORS } from './errors.js'

export type LocalModelRef =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'hf'; readonly user: string; readonly repo: string; readonly file: string }
  | { readonly kind: 'hf-quant'; readonly user: string; readonly repo: string; readonly quant: string }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

function invalid(text: string, why: string): TauError {
  return new TauError(
    LOCAL_ERRORS.TAU_LOCAL_REF_INVALID,
    `'local:${text}' is not a local model ref: ${why}`,
    {
      plugin: 'provider-local',
    },
  )
}

/** Reads the part after `local:` (a leading `local:` is accepted too, as `tau models pull` takes both). */
export function parseLocalRef(input: string, cwd: string): LocalModelRef {
  const text = input.startsWith('local:') ? input.slice('local:'.length) : input
  if (text === '') throw invalid(text, 'it names no model')
  if (!text.startsWith('hf:')) {
    const path = text.startsWith('~/') ? join(homedir(), text.slice(2)) : text
    return { kind: 'file', path: isAbsolute(path) ? path : resolve(cwd, path) }
  }
  const rest = text.slice(3)
  const quantAt = rest.lastIndexOf(':')
  if (quantAt > 0) {
    const [user, repo, ...more] = rest.slice(0, quantAt).split('/')
    const quant = rest.slice(quantAt + 1)
    if (!user || !repo || more.length > 0 || !NAME.test(user) || !NAME.test(repo) || !NAME.test(quant))
      throw invalid(text, 'write it as hf:USER/REPO:QUANT')
    return { kind: 'hf-quant', user, repo, quant }
  }
  const [user, repo, ...fileParts] = rest.split('/')
  const file = fileParts.join('/')
  if (!user || !repo || !NAME.test(user) || !NAME.test(repo) || file === '')
    throw invalid(text, 'write it as hf:USER/REPO/FILE.gguf or hf:USER/REPO:QUANT')
  if (fileParts.some((part) => part === '' || part === '.' || part === '..' || !NAME.test(part)))
    throw invalid(text, `'${file}' is not a file name in a repository`)
  if (!file.toLowerCase().endsWith('.gguf')) throw invalid(text, `'${file}' is not a .gguf file`)
  return { kind: 'hf', user, repo, file }
}

/** The folder a repository's downloads are kept in. */
export function repoDir(modelsDir: string, user: string, repo: string): string {
  return join(modelsDir, 'hf', user, repo)
}

/** Whether a file name carries a quantisation (`Q4_K_M` in `SmolLM2-135M-Instruct-Q4_K_M.gguf`). */
export function matchesQuant(file: string, quant: string): boolean {
  const name = file.toLowerCase()
  const q = quant.toLowerCase()
  return (
    name.endsWith('.gguf') &&
    new RegExp(`(^|[-_.])${q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([-_.])`).test(name)
  )
}

/** The file a ref names on disk, or undefined when an hf: ref has not been downloaded. */
export function localPathOf(ref: LocalModelRef, modelsDir: string): string | undefined {
  if (ref.kind === 'file') return ref.path
  const dir = repoDir(modelsDir, ref.user, ref.repo)
  if (ref.kind === 'hf') {
    const path = join(dir, ...ref.file.split('/'))
    return existsSync(path) ? path : undefined
  }
  if (!existsSync(dir)) return undefined
  const found = readdirSync(dir)
    .filter((name) => matchesQuant(name, ref.quant))
    .sort()
  return found[0] === undefined ? undefined : join(dir, found[0])
}

/** How a ref is written back (`hf:USER/REPO/FILE.gguf`). */
export function formatLocalRef(ref: LocalModelRef): string {
  if (ref.kind === 'file') return ref.path
  if (ref.kind === 'hf') return `hf:${ref.user}/${ref.repo}/${ref.file}`
  return `hf:${ref.user}/${ref.repo}:${ref.quant}`
}
