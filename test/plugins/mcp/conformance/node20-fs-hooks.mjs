// Node 20 has no `fs.globSync`, which the conformance runner's bundle imports by name (for its
// tier-check command, never used here); on Node 22+ this file is not loaded. The hook serves
// that bundle an `fs` with a `globSync` that says what it needs.
export async function resolve(specifier, context, next) {
  if (
    (specifier === 'fs' || specifier === 'node:fs') &&
    context.parentURL?.includes('/@modelcontextprotocol/conformance/')
  ) {
    return { url: new URL('./node20-fs.mjs', import.meta.url).href, shortCircuit: true }
  }
  return next(specifier, context)
}
