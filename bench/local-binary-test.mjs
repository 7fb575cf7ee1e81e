// The CPU node-llama-cpp's binary test costs a process that uses a local model, and what a kept
// pass saves (plugins/provider-local/binary-test.ts): one getLlama({ gpu: false }) with the pass
// kept in `dir`. Run it under /usr/bin/time, alternating a fresh dir (the test runs: a fork) and a
// kept one (answered from the pass), after `npm run build`:
//   d=$(mktemp -d); node bench/local-binary-test.mjs $d   # once, keeps the pass
//   /usr/bin/time -f '%U %S %M' node bench/local-binary-test.mjs $(mktemp -d)   # tested
//   /usr/bin/time -f '%U %S %M' node bench/local-binary-test.mjs $d             # kept

import { NODE_LLAMA_CPP_VERSION } from '../dist/plugins/provider-local/backend.js'
import { binaryTestCounts, withKeptBinaryTest } from '../dist/plugins/provider-local/binary-test.js'

const dir = process.argv[2]
if (!dir) throw new Error('usage: node bench/local-binary-test.mjs DIR (where the pass is kept)')
const lib = await import('node-llama-cpp')
const llama = await withKeptBinaryTest({ dir, version: NODE_LLAMA_CPP_VERSION }, () =>
  lib.getLlama({ gpu: false, logLevel: lib.LlamaLogLevel.error, logger: () => undefined }),
)
console.log(`binary test: ${binaryTestCounts.forked ? 'forked' : 'kept'}`)
await llama.dispose()
