/**
 * Where workflows come from: `orchestrate.workflows` in the config, and `<project>/.tau/workflows/*.ts`
 * (also .mts, .js, .mjs), whose default export is a workflow or a list of them. Files are loaded
 * at first use (`tau workflow ...`, the engine), not at start-up; a file that fails to load is a
 * problem listed by `tau workflow list`, not a crash.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { defaultExport, importModule, messageOf, TauError } from '../../kernel/index.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import { isWorkflow, type Workflow } from './workflow.js'

export interface FoundWorkflow {
  readonly workflow: Workflow
  /** `config`, or the file it came from. */
  readonly source: string
}

export interface WorkflowCatalog {
  readonly workflows: readonly FoundWorkflow[]
  readonly problems: ReadonlyArray<{ readonly file: string; readonly message: string }>
}

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs']

export async function findWorkflows(options: {
  fromConfig: readonly Workflow[]
  dir: string
  tauHome: string
}): Promise<WorkflowCatalog> {
  const workflows: FoundWorkflow[] = options.fromConfig.map((workflow) => ({ workflow, source: 'config' }))
  const problems: Array<{ file: string; message: string }> = []
  let names: string[] = []
  try {
    names = (await readdir(options.dir))
      .filter(
        (name) =>
          EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.startsWith('.') && !name.endsWith('.d.ts'),
      )
      .sort()
  } catch {
    // No folder: no file workflows.
  }
  for (const name of names) {
    const file = join(options.dir, name)
    try {
      const value = defaultExport(await importModule(file, options.tauHome))
      const list = Array.isArray(value) ? value : [value]
      if (list.length === 0 || !list.every(isWorkflow)) {
        problems.push({
          file,
          message: 'the default export is not a defineWorkflow() value (or a list of them)',
        })
        continue
      }
      for (const workflow of list) {
        if (workflows.some((w) => w.workflow.name === workflow.name)) {
          problems.push({
            file,
            message: `workflow '${workflow.name}' is defined twice; the first one is used`,
          })
        } else workflows.push({ workflow, source: file })
      }
    } catch (error) {
      problems.push({ file, message: messageOf(error).split('\n')[0]! })
    }
  }
  return { workflows, problems }
}

export function pick(catalog: WorkflowCatalog, name: string): FoundWorkflow {
  const found = catalog.workflows.find((w) => w.workflow.name === name)
  if (found) return found
  const known = catalog.workflows.map((w) => w.workflow.name)
  const problem = catalog.problems.find((p) => p.file.includes(name))
  throw new TauError(
    ORCHESTRATE_ERRORS.TAU_WORKFLOW_NOT_FOUND,
    `there is no workflow '${name}'${known.length > 0 ? `; the workflows are: ${known.join(', ')}` : ''}`,
    { plugin: 'orchestrate', ...(problem ? { details: [`${problem.file}: ${problem.message}`] } : {}) },
  )
}
