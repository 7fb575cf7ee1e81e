/** Orders plugins so each sets up after what it depends on; registration order breaks ties. */
import { TauError } from './errors.js'
import type { TauPlugin } from './plugin.js'
import { didYouMean } from './suggest.js'

export function orderPlugins<P extends TauPlugin>(plugins: readonly P[]): P[] {
  const byName = new Map(plugins.map((p) => [p.name, p]))
  const missing: string[] = []
  const edges = new Map<string, string[]>()
  for (const plugin of plugins) {
    const deps: string[] = []
    for (const dep of plugin.dependsOn ?? []) {
      if (byName.has(dep)) deps.push(dep)
      else
        missing.push(
          `plugin '${plugin.name}' depends on '${dep}', which is not loaded${didYouMean(dep, byName.keys())}`,
        )
    }
    for (const dep of plugin.optionalDependsOn ?? []) if (byName.has(dep)) deps.push(dep)
    edges.set(plugin.name, deps)
  }
  if (missing.length > 0) {
    const first = plugins.find((p) => (p.dependsOn ?? []).some((d) => !byName.has(d)))
    throw new TauError(
      'TAU_DEPENDENCY_MISSING',
      missing.length === 1 ? missing[0]! : 'plugins depend on plugins that are not loaded',
      {
        plugin: first?.name,
        details: missing.length === 1 ? [] : missing,
      },
    )
  }
  // Kahn's algorithm; picking the lowest registration index keeps the order stable.
  const index = new Map(plugins.map((p, i) => [p.name, i]))
  const remaining = new Map([...edges].map(([name, deps]) => [name, new Set(deps)]))
  const ordered: P[] = []
  while (remaining.size > 0) {
    let next: string | undefined
    for (const [name, deps] of remaining) {
      if (deps.size === 0 && (next === undefined || index.get(name)! < index.get(next)!)) next = name
    }
    if (next === undefined) {
      const cycle = findCycle(remaining)
      throw new TauError(
        'TAU_DEPENDENCY_CYCLE',
        `plugins depend on each other in a cycle: ${cycle.join(' -> ')}`,
        {
          plugin: cycle[0],
        },
      )
    }
    remaining.delete(next)
    for (const deps of remaining.values()) deps.delete(next)
    ordered.push(byName.get(next)!)
  }
  return ordered
}

function findCycle(graph: Map<string, Set<string>>): string[] {
  const visiting: string[] = []
  const done = new Set<string>()
  const visit = (node: string): string[] | undefined => {
    const at = visiting.indexOf(node)
    if (at >= 0) return [...visiting.slice(at), node]
    if (done.has(node)) return undefined
    visiting.push(node)
    for (const dep of graph.get(node) ?? []) {
      const found = visit(dep)
      if (found) return found
    }
    visiting.pop()
    done.add(node)
    return undefined
  }
  for (const node of graph.keys()) {
    const found = visit(node)
    if (found) return found
  }
  return [...graph.keys()]
}
