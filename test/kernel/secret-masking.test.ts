/** Secret masking: values masked as whole values, never single characters; secret fields by name, not by a substring. */
import { describe, expect, it } from 'vitest'
import { isSecretField, maskSecrets, redact, secretValuesFrom } from '../../kernel/logger.js'

describe('maskSecrets', () => {
  it('never masks a value under 4 characters: OPENAI_API_KEY=x leaves "does not exist" alone', () => {
    const secrets = secretValuesFrom({ OPENAI_API_KEY: 'x' })
    expect(maskSecrets('The model `gpt-9` does not exist', [...secrets, 'x'])).toBe(
      'The model `gpt-9` does not exist',
    )
  })

  it('masks a short value (4-7 characters) only where it stands alone', () => {
    const secrets = secretValuesFrom({ MY_TOKEN: 'abc12' })
    expect(secrets).toEqual(['abc12'])
    expect(maskSecrets('token abc12 rejected; xabc12 and abc12y are other words', secrets)).toBe(
      'token *** rejected; xabc12 and abc12y are other words',
    )
    expect(maskSecrets('Bearer abc12', secrets)).toBe('Bearer ***')
    expect(maskSecrets('key=abc12&x=1', secrets)).toBe('key=***&x=1')
  })

  it('masks a long value wherever it appears, also inside a longer word', () => {
    const key = 'sk-0123456789abcdef'
    expect(maskSecrets(`got ${key}, and x${key}y`, [key])).toBe('got ***, and x***y')
  })
})

describe('redact (secret fields)', () => {
  it('masks fields whose last word names a secret', () => {
    for (const name of [
      'apiKey',
      'api_key',
      'x-api-key',
      'token',
      'accessToken',
      'clientSecret',
      'password',
      'Authorization',
      'cookie',
    ]) {
      expect(isSecretField(name), name).toBe(true)
    }
  })

  it('leaves fields that only mention one: apiKeyEnv, maxTokensField, maxTokens, tokenizer', () => {
    for (const name of [
      'apiKeyEnv',
      'maxTokensField',
      'maxTokens',
      'tokenizer',
      'keyVariable',
      'authorizationUrl',
    ]) {
      expect(isSecretField(name), name).toBe(false)
    }
    expect(
      redact({
        providers: { openai: { apiKey: 'sk-1', apiKeyEnv: 'MY_KEY', maxTokensField: 'max_tokens' } },
      }),
    ).toEqual({ providers: { openai: { apiKey: '***', apiKeyEnv: 'MY_KEY', maxTokensField: 'max_tokens' } } })
  })
})
