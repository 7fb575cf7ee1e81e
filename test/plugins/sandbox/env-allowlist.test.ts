import { describe, expect, it } from 'vitest'
import { buildProcessEnv, createEnvAllowlist, isSecretName } from '../../../plugins/sandbox/env-allowlist.js'

describe('the subprocess environment allowlist', () => {
  it('lets the safe defaults through and nothing else', () => {
    const allow = createEnvAllowlist()
    for (const name of [
      'PATH',
      'HOME',
      'USER',
      'LANG',
      'LC_ALL',
      'LC_CTYPE',
      'TERM',
      'TZ',
      'NODE_ENV',
      'NO_COLOR',
    ])
      expect(allow.allows(name), name).toBe(true)
    for (const name of [
      'SSH_AUTH_SOCK',
      'HTTPS_PROXY',
      'AWS_REGION',
      'XDG_RUNTIME_DIR',
      'npm_config_registry',
    ])
      expect(allow.allows(name), name).toBe(false)
  })

  it('never lets a secret-looking name in through a prefix, only by its exact name', () => {
    expect(createEnvAllowlist().allows('NODE_AUTH_TOKEN')).toBe(false)
    const allow = createEnvAllowlist(['AWS_*', 'GH_TOKEN'])
    expect(allow.allows('AWS_REGION')).toBe(true)
    expect(allow.allows('AWS_SECRET_ACCESS_KEY')).toBe(false)
    expect(allow.allows('AWS_SESSION_TOKEN')).toBe(false)
    expect(allow.allows('GH_TOKEN')).toBe(true)
  })

  it('recognises secret-looking names', () => {
    for (const name of [
      'OPENAI_API_KEY',
      'API_KEY',
      'GITHUB_TOKEN',
      'MY_SECRET',
      'DB_PASSWORD',
      'GOOGLE_CREDENTIALS',
    ])
      expect(isSecretName(name), name).toBe(true)
    for (const name of ['PATH', 'KEYBOARD_LAYOUT', 'MONKEY', 'AUTHOR_NAME', 'LANG'])
      expect(isSecretName(name), name).toBe(false)
  })

  it('builds the environment from the parent, then fixed values', () => {
    const env = buildProcessEnv(
      { PATH: '/bin', OPENAI_API_KEY: 'sk-x', LC_ALL: 'C', UNDEFINED: undefined },
      createEnvAllowlist(),
      { CI: 'true', PATH: '/custom/bin' },
    )
    expect(env).toEqual({ PATH: '/custom/bin', LC_ALL: 'C', CI: 'true' })
  })
})
