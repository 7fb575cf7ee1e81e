/** A model ref checked against the loaded providers, with the ref the user probably meant. */
import { describe, expect, it } from 'vitest'
import { modelRefProblem } from '../../../plugins/providers/index.js'

const LOADED = ['ollama', 'openai', 'azure', 'anthropic', 'scripted']

describe('modelRefProblem', () => {
  it('accepts a ref whose provider is loaded', () => {
    expect(modelRefProblem('openai:gpt-4o', LOADED)).toBeUndefined()
    expect(modelRefProblem('ollama:qwen3:8b', LOADED)).toBeUndefined()
  })

  it('suggests the provider of a model named without one', () => {
    expect(modelRefProblem('gpt-4o', LOADED)).toMatch(/did you mean 'openai:gpt-4o'\?$/)
    expect(modelRefProblem('claude-sonnet-4-5', LOADED)).toMatch(
      /did you mean 'anthropic:claude-sonnet-4-5'\?$/,
    )
    // The model part may hold a colon: `qwen3:8b` reads as provider qwen3, model 8b.
    expect(modelRefProblem('qwen3:8b', LOADED)).toBe(
      "no provider named 'qwen3' (in 'qwen3:8b'); did you mean 'ollama:qwen3:8b'?; loaded providers: ollama, openai, azure, anthropic, scripted",
    )
  })

  it('suggests only a loaded provider', () => {
    expect(modelRefProblem('gpt-4o', ['ollama', 'scripted'])).toBe(
      "'gpt-4o' is not a model ref: write it as 'provider:model', e.g. 'ollama:qwen3:8b' or 'openai:gpt-4o'; loaded providers: ollama, scripted",
    )
  })

  it('names the loaded providers for an unknown one, and catches a typo', () => {
    expect(modelRefProblem('foo:bar', LOADED)).toBe(
      "no provider named 'foo' (in 'foo:bar'); loaded providers: ollama, openai, azure, anthropic, scripted",
    )
    expect(modelRefProblem('opnai:gpt-4o', LOADED)).toMatch(/did you mean 'openai:gpt-4o'\?/)
  })
})
