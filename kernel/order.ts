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
  // Kahn's algorithm over in-degrees; a min-heap on registration index keeps the order stable
  // and the whole sort O((n + e) log n).
  const index = new Map(plugins.map((p, i) => [p.name, i]))
  const indegree = new Map<string, number>()
  const dependents = new Map<string, string[]>()
  for (const [name, deps] of edges) {
    indegree.set(name, new Set(deps).size)
    for (const dep of new Set(deps)) {
      const list = dependents.get(dep)
      if (list) list.push(name)
      else dependents.set(dep, [name])
    }
  }
  const ready = new MinHeap()
  for (const [name, degree] of indegree) if (degree === 0) ready.push(index.get(name)!)
  const ordered: P[] = []
  while (ready.size > 0) {
    const plugin = plugins[ready.pop()]!
    ordered.push(plugin)
    for (const dependent of dependents.get(plugin.name) ?? []) {
      const degree = indegree.get(dependent)! - 1
      indegree.set(dependent, degree)
      if (degree === 0) ready.push(index.get(dependent)!)
    }
  }
  if (ordered.length < plugins.length) {
    const placed = new Set(ordered.map((p) => p.name))
    const remaining = new Map(
      [...edges].filter(([name]) => !placed.has(name)).map(([name, deps]) => [name, new Set(deps)]),
    )
    const cycle = findCycle(remaining)
    throw new TauError(
      'TAU_DEPENDENCY_CYCLE',
      `plugins depend on each other in a cycle: ${cycle.join(' -> ')}`,
      {
        plugin: cycle[0],
      },
    )
  }
  return ordered
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = []

  get size(): number {
    return this.items.length
  }

  push(value: number): void {
    const items = this.items
    items.push(value)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]! <= value) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = value
  }

  pop(): number {
    const items = this.items
    const top = items[0]!
    const last = items.pop()!
    if (items.length > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= items.length) break
        const right = left + 1
        const child = right < items.length && items[right]! < items[left]! ? right : left
        if (items[child]! >= last) break
        items[i] = items[child]!
        i = child
      }
      items[i] = last
    }
    return top
  }
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
