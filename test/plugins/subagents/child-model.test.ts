/** childModel(): the model a subagent runs on, from the Task call, the definition and the parent. */
import { describe, expect, it } from 'vitest'
import { type AgentDefinition, childModel } from '../../../plugins/subagents/index.js'

describe('childModel: the Task call, the definition, the parent', () => {
  const def = (model?: string): AgentDefinition => ({
    name: 'a',
    description: 'd',
    prompt: '',
    source: 'config',
    ...(model ? { model } : {}),
  })
  const providers = {
    has: (name: string) => name === 'anthropic' || name === 'scripted',
    isConfigured: (name: string) => name === 'scripted',
    list: () => [{ name: 'anthropic' }, { name: 'scripted' }],
  }
  const options = { aliases: { fast: 'scripted:fast' }, env: {}, providers }

  it('takes the Task call over the definition, the definition over the parent; inherit is the parent', () => {
    expect(childModel(def('scripted:def'), 'scripted:parent', 'scripted:call', options)).toEqual({
      ok: true,
      model: 'scripted:call',
    })
    expect(childModel(def('scripted:def'), 'scripted:parent', undefined, options)).toEqual({
      ok: true,
      model: 'scripted:def',
    })
    expect(childModel(def(), 'scripted:parent', 'inherit', options)).toEqual({
      ok: true,
      model: 'scripted:parent',
    })
    expect(childModel(def('Inherit'), 'scripted:parent', undefined, options)).toEqual({
      ok: true,
      model: 'scripted:parent',
    })
  })

  it('maps aliases: configured first; a built-in one whose provider is not set up means the parent, with a note', () => {
    expect(childModel(def(), 'scripted:parent', 'fast', options)).toEqual({
      ok: true,
      model: 'scripted:fast',
    })
    const haiku = childModel(def(), 'scripted:parent', 'HAIKU', options)
    expect(haiku).toMatchObject({ ok: true, model: 'scripted:parent' })
    expect(haiku.ok && haiku.note).toContain('anthropic:claude-haiku-4-5')
    const fromEnv = childModel(def(), 'scripted:parent', 'sonnet', {
      ...options,
      env: { ANTHROPIC_DEFAULT_SONNET_MODEL: 'scripted:chosen' },
    })
    expect(fromEnv).toEqual({ ok: true, model: 'scripted:chosen' })
  })

  it('refuses a name that is no model and a provider that is not loaded, saying which', () => {
    // Object.prototype's names are not aliases.
    const proto = childModel(def(), 'scripted:parent', 'constructor', options)
    expect(proto.ok).toBe(false)
    expect(!proto.ok && proto.error).toContain("the Task call's model 'constructor' is not a model")
    const missing = childModel(def('ollama:qwen'), 'scripted:parent', undefined, options)
    expect(!missing.ok && missing.error).toContain(
      "the model 'ollama:qwen' of agent 'a' names provider 'ollama', which is not loaded (providers: anthropic, scripted)",
    )
  })
})
