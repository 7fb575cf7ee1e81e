/** Failures of the OpenAI provider over real HTTP: statuses, error bodies, timeouts, drops, stream errors. */

import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { ProviderError } from '../../../plugins/providers/index.js'
import { ANSWER_NEVER_MS } from '../providers/never.js'
import {
  collect,
  collectUntilError,
  type Harness,
  type HarnessOptions,
  KEY,
  KEY_VAR,
  request,
  startHarness,
  textOf,
} from './helpers.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.stop()
  harness = undefined
})

async function start(turns: ScriptTurn[], options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(turns, options)
  return harness
}

async function failure(iterable: AsyncIterable<unknown>): Promise<ProviderError> {
  try {
    for await (const _ of iterable) {
      // consume
    }
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError)
    return error as ProviderError
  }
  throw new Error('expected the call to fail')
}

describe('openai provider: HTTP errors', () => {
  it('retries a 429 after the Retry-After the server asked for, then succeeds', async () => {
    const { provider, server } = await start([
      { status: 429, errorMessage: 'Rate limit reached for gpt-4o', headers: { 'retry-after-ms': '120' } },
      { text: 'after the wait' },
    ])
    const started = Date.now()
    const events = await collect(provider.stream(request()))
    expect(textOf(events)).toBe('after the wait')
    expect(server.requests).toHaveLength(2)
    // Our own backoff (10-50 ms) is shorter: the wait shows the header was honoured.
    expect(Date.now() - started).toBeGreaterThanOrEqual(110)
  })

  it('retries 5xx answers before any output', async () => {
    const { provider, server } = await start([{ status: 503, errorMessage: 'overloaded' }, { text: 'ok' }])
    expect(textOf(await collect(provider.stream(request())))).toBe('ok')
    expect(server.requests).toHaveLength(2)
  })

  it('does not retry a 429 that says the quota is used up', async () => {
    const raw = JSON.stringify({
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    })
    const { provider, server } = await start([{ status: 429, raw }, { text: 'never' }])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'rate-limit', retryable: false, status: 429 })
    expect(error.hint).toMatch(/billing/)
    expect(server.requests).toHaveLength(1)
  })

  it('reports a 401 as an auth error naming the key variable, with the key masked', async () => {
    const { provider, server } = await start([], { env: { [KEY_VAR]: 'sk-invalid-key-0123456789' } })
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({
      kind: 'auth',
      code: 'TAU_PROVIDER_AUTH',
      status: 401,
      retryable: false,
      plugin: 'provider-openai',
    })
    expect(error.hint).toContain(KEY_VAR)
    expect(error.message).toMatch(/Incorrect API key/)
    expect(error.message).not.toContain('sk-invalid-key-0123456789')
    expect(server.requests).toHaveLength(1)
  })

  it('masks the key wherever an error body repeats it', async () => {
    const { provider } = await start([{ status: 401, errorMessage: `bad key ${KEY} given` }])
    const error = await failure(provider.stream(request()))
    expect(error.message).toContain('bad key *** given')
    expect(error.message).not.toContain(KEY)
  })

  it('a one-character key is not masked inside words: "does not exist" stays whole', async () => {
    const { provider } = await start([], { env: { [KEY_VAR]: 'x' } })
    const error = await failure(provider.stream(request({ model: { provider: 'openai', model: 'gpt-9' } })))
    expect(error).toMatchObject({ kind: 'model-not-found', status: 404 })
    expect(error.message).toContain('The model `gpt-9` does not exist')
    expect(error.message).not.toContain('***')
  })

  it('reports an unknown model as model-not-found with a hint', async () => {
    const { provider } = await start([])
    const error = await failure(provider.stream(request({ model: { provider: 'openai', model: 'gpt-9' } })))
    expect(error).toMatchObject({ kind: 'model-not-found', status: 404, retryable: false })
    expect(error.message).toContain('The model `gpt-9` does not exist')
    expect(error.hint).toMatch(/model name/)
  })

  it('recognises context-length errors by their message', async () => {
    const { provider } = await start([
      {
        status: 400,
        errorMessage:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
      },
    ])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'context-length', code: 'TAU_PROVIDER_CONTEXT_LENGTH' })
  })

  it('recognises context-length errors by the code context_length_exceeded alone', async () => {
    const raw = JSON.stringify({
      error: {
        message: 'Too much input.',
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    })
    const { provider } = await start([{ status: 400, raw }])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'context-length', status: 400, retryable: false })
    expect(error.message).toContain('Too much input.')
  })

  it('reports other 400s as bad-request with the server message', async () => {
    const { provider } = await start([
      { status: 400, errorMessage: "Unsupported parameter: 'temperature' is not supported with this model." },
    ])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'bad-request', retryable: false })
    expect(error.message).toContain("Unsupported parameter: 'temperature'")
  })

  it('says which variable to set when OpenAI needs a key and none is set, without calling out', async () => {
    const { kernel } = await start([], {
      openai: { baseURL: 'https://api.openai.com/v1' },
      env: { [KEY_VAR]: undefined },
    })
    const { providerRegistryRef } = await import('../../../plugins/providers/index.js')
    const provider = kernel.resolve(providerRegistryRef).get('openai')
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'not-configured', code: 'TAU_PROVIDER_NOT_CONFIGURED' })
    expect(error.message).toContain(KEY_VAR)
  })

  it('a base URL from the environment that is not a URL: not-configured, not a crash at start', async () => {
    const { provider, server } = await start([], {
      openai: { baseURL: undefined },
      env: { OPENAI_BASE_URL: 'localhost:1234' },
    })
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'not-configured' })
    expect(error.message).toContain('OPENAI_BASE_URL')
    expect(server.requests).toHaveLength(0)
  })
})

describe('openai provider: transport failures', () => {
  it('times out a slow first byte (TAU_PROVIDER_TIMEOUT) without retrying', async () => {
    // undici checks header timeouts on a coarse (~0.5-1 s) timer: the delay must exceed that.
    const { provider, server } = await start([{ text: 'late', firstByteDelayMs: ANSWER_NEVER_MS }], {
      providers: { timeouts: { firstByteMs: 100 } },
    })
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'timeout', code: 'TAU_PROVIDER_TIMEOUT', plugin: 'provider-openai' })
    expect((error as Error).message).toMatch(/within 100 ms/)
    expect(events).toEqual([])
    expect(server.requests).toHaveLength(1)
  })

  it.each([20, 180, 420])(
    'reports a connection dropped mid-stream (after %i bytes) as a connection error, not retried, text not duplicated',
    async (dropAfterBytes) => {
      const { provider, server } = await start([
        { text: 'abcdefghijklmnopqrstuvwxyz0123456789', deltaChars: 2, dropAfterBytes },
        { text: 'SHOULD NOT BE USED' },
      ])
      const { events, error } = await collectUntilError(provider.stream(request()))
      expect(error).toBeInstanceOf(ProviderError)
      expect(error).toMatchObject({ kind: 'connection', retryable: false })
      expect(server.requests).toHaveLength(1)
      const text = textOf(events)
      expect('abcdefghijklmnopqrstuvwxyz0123456789'.startsWith(text)).toBe(true)
      expect(text).not.toContain('SHOULD')
    },
  )

  it('reports a refused connection with a hint about the base URL', async () => {
    const listener = createServer()
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const { port } = listener.address() as AddressInfo
    await new Promise((resolve) => listener.close(resolve))
    const { provider } = await start([], {
      openai: { baseURL: `http://127.0.0.1:${port}/v1` },
      providers: { retries: { max: 0 } },
    })
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'connection' })
    expect(error.hint).toMatch(/OPENAI_BASE_URL/)
  })
})

describe('openai provider: malformed answers and errors inside the stream', () => {
  it('reports a body that is not an event stream as bad-response, quoting it', async () => {
    const { provider } = await start([{ raw: '<html>502 Bad Gateway</html>' }])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'bad-response', code: 'TAU_PROVIDER_BAD_RESPONSE' })
    expect(error.message).toContain('502 Bad Gateway')
  })

  it('reports an event whose data is not JSON as bad-response', async () => {
    const { provider } = await start([{ raw: 'data: {"id": "x", "choices": [\n\n' }])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'bad-response' })
    expect(error.message).toMatch(/not JSON/)
  })

  it('reports a JSON body that is not JSON (application/json) as bad-response', async () => {
    const { provider } = await start([
      { raw: '{"choices": [', headers: { 'content-type': 'application/json' } },
    ])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'bad-response' })
  })

  it('surfaces an error event inside a 200 stream after the text that came before it', async () => {
    const { provider, server } = await start([
      { text: 'Partial answer', streamError: 'The server had an error while processing your request.' },
      { text: 'never' },
    ])
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(textOf(events)).toBe('Partial answer')
    expect(error).toMatchObject({ kind: 'server', code: 'TAU_PROVIDER_SERVER', retryable: false })
    expect((error as Error).message).toContain('The server had an error')
    expect(events.some((e) => e.type === 'finish')).toBe(false)
    expect(server.requests).toHaveLength(1)
  })

  it('delivers the text of a chunk before the error event that came in the same chunk', async () => {
    const raw =
      'data: {"choices":[{"index":0,"delta":{"content":"Half an "},"finish_reason":null}]}\n\n' +
      'data: {"choices":[{"index":0,"delta":{"content":"answer"},"finish_reason":null}]}\n\n' +
      'data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}\n\n'
    const { provider } = await start([{ raw, headers: { 'content-type': 'text/event-stream' } }])
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(events).toEqual([{ type: 'text-delta', text: 'Half an answer' }])
    expect(error).toMatchObject({ kind: 'server', retryable: false })
  })

  it('maps the code of an in-stream error: context_length_exceeded -> context-length', async () => {
    const raw =
      'data: {"error":{"message":"Input too long.","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}\n\n'
    const { provider } = await start([{ raw }])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'context-length' })
  })

  it('reads an `event: error` SSE event as an error', async () => {
    const raw = 'event: error\ndata: {"message":"upstream went away"}\n\n'
    const { provider } = await start([{ raw }])
    const error = await failure(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'server' })
    expect(error.message).toContain('upstream went away')
  })
})
