/**
 * `tau init`'s model choice gives up on a provider whose server takes the connection and never
 * answers, also when the heap is collected meanwhile (Node 20 lost an AbortSignal.timeout inside
 * AbortSignal.any to a collection, and the choice waited for good). The provider is a minimal one
 * whose listModels is a real fetch to a loopback server; the choice's deadline is the real one.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Provider, ProviderRegistry } from '../../../plugins/providers/index.js'
import { chooseModel } from '../../../plugins/scaffold/model-choice.js'
import { fullGc } from '../../full-gc.js'

let asked = 0
// Takes each request and never answers; a full collection while the list waits.
const server = createServer(() => {
  asked++
  fullGc()
})
let base: string
beforeAll(async () => {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((done) => server.close(done))
})

describe('chooseModel', () => {
  it('moves on from a server that never answers, a full garbage collection in between', async () => {
    const silent: Provider = {
      name: 'ollama',
      stream: () => {
        throw new Error('not used: the choice never sends a prompt')
      },
      listModels: async (options = {}) => {
        await fetch(`${base}/api/tags`, { signal: options.signal })
        return []
      },
    }
    const registry = new ProviderRegistry()
    registry.register(silent, 'test', { configured: false })
    const choice = await chooseModel(registry, new AbortController().signal)
    expect(asked).toBe(1)
    expect(choice).toEqual({
      ref: undefined,
      reason: 'No model was found by `tau init` (no local model, no Ollama running, no API key set)',
    })
  })
})
