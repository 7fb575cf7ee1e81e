import { describe, expect, it } from 'vitest'
import { createLogger, ERRORS, formatError, type LogRecord, TauError } from '../../kernel/index.js'
import { maskSecrets, redact, secretValuesFrom } from '../../kernel/logger.js'

describe('formatError', () => {
  const error = new TauError('TAU_CONFIG_INVALID', 'invalid config: 2 problems', {
    file: '/p/tau.config.ts',
    plugin: 'tools',
    details: ['a: expected number, got "x"', 'b: required'],
  })

  it('prints code, message, file, details and hint, and no stack for a user error', () => {
    const text = formatError(error)
    expect(text).toBe(
      [
        'error TAU_CONFIG_INVALID: invalid config: 2 problems',
        '  in /p/tau.config.ts',
        '  - a: expected number, got "x"',
        '  - b: required',
        `  hint: ${ERRORS.TAU_CONFIG_INVALID.hint}`,
      ].join('\n'),
    )
    expect(text).not.toMatch(/^\s+at /m)
  })

  it('adds the stacks with debug', () => {
    const wrapped = new TauError('TAU_SETUP_FAILED', "plugin 'x': boom", {
      plugin: 'x',
      cause: new Error('boom'),
    })
    const text = formatError(wrapped, { debug: true })
    expect(text).toMatch(/^\s+at /m)
    expect(text).toContain('cause: Error: boom')
  })

  it('shows a cause whose message is not already in the error message', () => {
    const wrapped = new TauError('TAU_CONFIG_LOAD', 'cannot load config', {
      cause: new Error('Unexpected token (3:5)'),
    })
    expect(formatError(wrapped)).toContain('  cause: Unexpected token (3:5)')
  })

  it('carries the details and the cause in message, so whoever prints only message sees them', () => {
    expect(error.message).toBe(
      ['invalid config: 2 problems', '  - a: expected number, got "x"', '  - b: required'].join('\n'),
    )
    expect(error.summary).toBe('invalid config: 2 problems')
    const wrapped = new TauError('TAU_CONFIG_LOAD', 'cannot load config', {
      cause: new Error('Unexpected token (3:5)'),
    })
    expect(wrapped.message).toBe('cannot load config\n  cause: Unexpected token (3:5)')
    // Said once: formatError prints the summary, then each detail and the cause on a line of its own.
    expect(formatError(wrapped).match(/Unexpected token/g)).toHaveLength(1)
    expect(formatError(error).match(/b: required/g)).toHaveLength(1)
    // A cause already in the message, or a TauError (it says its own), is not repeated.
    expect(new TauError('TAU_CONFIG_LOAD', 'boom: x', { cause: new Error('x') }).message).toBe('boom: x')
    expect(new TauError('TAU_CONFIG_LOAD', 'outer', { cause: error }).message).toBe('outer')
  })

  it('every catalogue entry has a title and a hint', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^TAU_[A-Z_]+$/)
      expect(spec.title.length).toBeGreaterThan(10)
      expect(spec.hint.length).toBeGreaterThan(10)
    }
  })
})

describe('logger', () => {
  it('writes records to the sink at or above its level, named after the plugin', () => {
    const records: LogRecord[] = []
    const logger = createLogger('tools', { level: 'info', sink: (r) => records.push(r), secrets: [] })
    logger.debug('hidden')
    logger.info('shown', { n: 1 })
    logger.child('bash').warn('child')
    expect(records.map((r) => [r.level, r.name, r.message, r.fields])).toEqual([
      ['info', 'tools', 'shown', { n: 1 }],
      ['warn', 'tools:bash', 'child', undefined],
    ])
  })

  it('never lets a secret through: masked in messages, redacted under secret-looking keys', () => {
    const records: LogRecord[] = []
    const secret = 'sk-test-abcdefghijklmnop'
    const logger = createLogger('provider', {
      level: 'debug',
      sink: (r) => records.push(r),
      secrets: secretValuesFrom({ OPENAI_API_KEY: secret, HOME: '/root' }),
    })
    logger.info(`calling with ${secret}`, {
      headers: { authorization: `Bearer ${secret}` },
      apiKey: secret,
      model: 'x',
    })
    expect(JSON.stringify(records)).not.toContain(secret)
    expect(records[0]?.message).toBe('calling with ***')
    expect(records[0]?.fields).toEqual({ headers: { authorization: '***' }, apiKey: '***', model: 'x' })
  })

  it('secretValuesFrom picks secret-looking variables only', () => {
    expect(
      secretValuesFrom({ ANTHROPIC_API_KEY: 'a-long-secret', PATH: '/usr/bin:/bin', SHORT_TOKEN: 'abc' }),
    ).toEqual(['a-long-secret'])
    expect(maskSecrets('x a-long-secret y', ['a-long-secret'])).toBe('x *** y')
    expect(redact({ password: 'p', nested: [{ token: 't' }] })).toEqual({
      password: '***',
      nested: [{ token: '***' }],
    })
  })
})
