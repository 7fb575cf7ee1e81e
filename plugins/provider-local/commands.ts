/** `tau models pull|list|rm`: the local models kept under the models directory. */
import { rm } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { type CliCommand, TauError } from '../../kernel/index.js'
import { downloadFile } from './download.js'
import { LOCAL_ERRORS } from './errors.js'
import { readGgufSummary } from './gguf-header.js'
import { hubHeaders, resolveHubFile } from './hub.js'
import { formatLocalRef, localPathOf, parseLocalRef, repoDir } from './model-ref.js'
import { formatBytes, progressReporter } from './progress.js'
import { listModelFiles } from './provider.js'

export interface ModelsCommandSettings {
  readonly modelsDir: string
  readonly hfEndpoint: string
  readonly idleTimeoutMs: number
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
}

const PLUGIN = 'provider-local'

function hubRef(text: string, cwd: string) {
  const ref = parseLocalRef(text.startsWith('hf:') || text.startsWith('local:') ? text : `hf:${text}`, cwd)
  if (ref.kind === 'file')
    throw new TauError(
      LOCAL_ERRORS.TAU_LOCAL_REF_INVALID,
      `'${text}' is a file: only hf: refs are downloaded`,
      {
        plugin: PLUGIN,
      },
    )
  return ref
}

export function modelsCommands(settings: ModelsCommandSettings): CliCommand[] {
  const { modelsDir } = settings
  return [
    {
      name: 'models pull',
      description: 'download a GGUF model from Hugging Face into $TAU_HOME/models (resumes a cut download)',
      arguments: [{ name: '<ref>', description: 'hf:USER/REPO/FILE.gguf or hf:USER/REPO:QUANT' }],
      async run({ args, stdout, stderr, signal }) {
        const ref = hubRef(String(args[0]), settings.cwd)
        const headers = hubHeaders(settings.env)
        const file = await resolveHubFile(ref, settings.hfEndpoint, {
          headers,
          timeoutMs: settings.idleTimeoutMs,
          signal,
        })
        const dest = join(repoDir(modelsDir, ref.user, ref.repo), ...file.path.split('/'))
        const useRef = `local:hf:${ref.user}/${ref.repo}/${file.path}`
        const existing = localPathOf(
          { kind: 'hf', user: ref.user, repo: ref.repo, file: file.path },
          modelsDir,
        )
        if (existing !== undefined) {
          stdout.write(`${useRef} is already downloaded (${existing})\n`)
          return 0
        }
        const progress = progressReporter(stderr, file.path.split('/').pop() ?? file.path)
        try {
          await downloadFile({
            url: file.url,
            dest,
            sha256: file.sha256,
            size: file.size,
            headers,
            idleTimeoutMs: settings.idleTimeoutMs,
            signal,
            onProgress: (p) => progress.update(p),
          })
        } finally {
          progress.done()
        }
        stdout.write(`downloaded ${useRef}\n  ${dest}\nuse it with: tau start --model ${useRef}\n`)
        return 0
      },
    },
    {
      name: 'models list',
      description: 'list the downloaded local models (ref, size, architecture, trained context)',
      options: [{ flags: '--json', description: 'print JSON' }],
      async run({ options, stdout }) {
        const files = await listModelFiles(modelsDir)
        const rows = await Promise.all(
          files.map(async (file) => {
            const summary = await readGgufSummary(file.path).catch(() => undefined)
            return {
              ref: `local:${file.ref}`,
              path: file.path,
              size: file.size,
              architecture: summary?.architecture ?? null,
              contextLength: summary?.contextLength ?? null,
              modified: file.modified.toISOString(),
              valid: summary !== undefined,
            }
          }),
        )
        if (options.json) {
          stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
          return 0
        }
        if (rows.length === 0) {
          stdout.write(
            `No local models in ${modelsDir} yet: \`tau models pull hf:USER/REPO:QUANT\` downloads one.\n`,
          )
          return 0
        }
        const table = [
          ['REF', 'SIZE', 'ARCH', 'CONTEXT'],
          ...rows.map((r) => [
            r.ref,
            formatBytes(r.size),
            r.valid ? (r.architecture ?? '?') : '(not a GGUF model)',
            String(r.contextLength ?? '?'),
          ]),
        ]
        const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? []
        for (const row of table)
          stdout.write(
            `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}\n`,
          )
        return 0
      },
    },
    {
      name: 'models rm',
      description: 'delete a downloaded local model (and any partial download of it)',
      arguments: [{ name: '<ref>', description: 'the ref `tau models list` shows' }],
      async run({ args, stdout }) {
        const ref = hubRef(String(args[0]), settings.cwd)
        const path = localPathOf(ref, modelsDir)
        const target =
          path ??
          (ref.kind === 'hf'
            ? join(repoDir(modelsDir, ref.user, ref.repo), ...ref.file.split('/'))
            : undefined)
        // Only files under the models directory are ever deleted.
        const inside =
          target !== undefined && !relative(resolve(modelsDir), resolve(target)).startsWith(`..${sep}`)
        if (target === undefined || !inside)
          throw new TauError(
            LOCAL_ERRORS.TAU_LOCAL_MODEL_MISSING,
            `local:${formatLocalRef(ref)} is not downloaded`,
            {
              plugin: PLUGIN,
              hint: '`tau models list` shows the downloaded models.',
            },
          )
        const hadPartial = await rm(`${target}.partial`).then(
          () => true,
          () => false,
        )
        if (path === undefined && !hadPartial)
          throw new TauError(
            LOCAL_ERRORS.TAU_LOCAL_MODEL_MISSING,
            `local:${formatLocalRef(ref)} is not downloaded`,
            {
              plugin: PLUGIN,
              hint: '`tau models list` shows the downloaded models.',
            },
          )
        if (path !== undefined) await rm(path)
        stdout.write(`removed local:${formatLocalRef(ref)}\n`)
        return 0
      },
    },
  ]
}
