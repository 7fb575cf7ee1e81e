/** OLLAMA_HOST forms, read as Ollama reads them, made safe to connect to. */
import { describe, expect, it } from 'vitest'
import { normalizeOllamaHost } from '../../../plugins/provider-ollama/index.js'

describe('normalizeOllamaHost', () => {
  it.each([
    [undefined, 'http://127.0.0.1:11434'],
    ['', 'http://127.0.0.1:11434'],
    ['  ', 'http://127.0.0.1:11434'],
    ['0.0.0.0', 'http://127.0.0.1:11434'],
    ['0.0.0.0:11434', 'http://127.0.0.1:11434'],
    ['0.0.0.0:8080', 'http://127.0.0.1:8080'],
    [':11500', 'http://127.0.0.1:11500'],
    ['gpu-box', 'http://gpu-box:11434'],
    ['gpu-box:9000', 'http://gpu-box:9000'],
    ['10.0.0.5:11434', 'http://10.0.0.5:11434'],
    ['http://gpu-box', 'http://gpu-box:80'],
    ['http://gpu-box:11434/', 'http://gpu-box:11434'],
    ['https://proxy.example.com/ollama/', 'https://proxy.example.com:443/ollama'],
    ['HTTP://Gpu-Box:1234', 'http://Gpu-Box:1234'],
    ['[::1]:11434', 'http://[::1]:11434'],
    ['::1', 'http://[::1]:11434'],
    ['[::]:11434', 'http://[::1]:11434'],
    ['gpu-box:99999', 'http://gpu-box:11434'],
    ['ollama.com', 'https://ollama.com:443'],
  ])('%j -> %s', (input, expected) => {
    expect(normalizeOllamaHost(input)).toEqual({ baseUrl: expected })
  })

  it('moves credentials out of the address into a Basic authorization', () => {
    expect(normalizeOllamaHost('https://me:p%40ss@proxy.example.com')).toEqual({
      baseUrl: 'https://proxy.example.com:443',
      authorization: `Basic ${Buffer.from('me:p@ss').toString('base64')}`,
    })
  })

  it('refuses a scheme other than http(s), without echoing credentials', () => {
    let error: unknown
    try {
      normalizeOllamaHost('ftp://me:secret@host')
    } catch (caught) {
      error = caught
    }
    expect(error).toMatchObject({ kind: 'not-configured', code: 'TAU_PROVIDER_NOT_CONFIGURED' })
    expect((error as Error).message).not.toContain('secret')
  })
})
