/** provider-local's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const LOCAL_ERRORS = defineErrors('provider-local', {
  TAU_LOCAL_NOT_INSTALLED: {
    title: 'A `local:` model was asked for, but node-llama-cpp is not installed',
    hint: 'Install it next to tau: `npm i -E node-llama-cpp@3.21.1` (it is an optional peer dependency).',
    userError: true,
  },
  TAU_LOCAL_MODEL_MISSING: {
    title: 'The GGUF file of a `local:` model does not exist',
    hint: 'Check the path (relative to the working directory), or download the model with `tau models pull hf:USER/REPO/FILE.gguf`; `tau models list` shows what is downloaded.',
    userError: true,
  },
  TAU_LOCAL_MODEL_INVALID: {
    title: 'The file of a `local:` model is not a readable GGUF model (corrupt, truncated or another format)',
    hint: 'Download it again (`tau models rm REF` then `tau models pull REF`), or point at a .gguf file.',
    userError: true,
  },
  TAU_LOCAL_MODEL_UNSUPPORTED: {
    title: "The model's architecture is not one this build of llama.cpp can run",
    hint: 'Use a GGUF of a supported architecture (llama, qwen2, qwen3, gemma, phi3, mistral, ...), or a newer node-llama-cpp.',
    userError: true,
  },
  TAU_LOCAL_MODEL_LOAD: {
    title: 'llama.cpp could not load the model or create its context',
    hint: "Read llama.cpp's message shown; a smaller `providers.local.contextSize` helps when memory runs out.",
    userError: false,
  },
  TAU_LOCAL_REF_INVALID: {
    title: 'A `local:` model ref has a form tau does not read',
    hint: 'Write `local:./path/model.gguf`, `local:hf:USER/REPO/FILE.gguf` or `local:hf:USER/REPO:QUANT` (e.g. `local:hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M`).',
    userError: true,
  },
  TAU_LOCAL_DOWNLOAD: {
    title: 'A model download failed (HTTP error, connection, timeout or a file not in the repository)',
    hint: 'Check the ref and your connection, then run `tau models pull` again: it resumes where it stopped. `providers.local.hfEndpoint` (or TAU_HF_ENDPOINT) sets a mirror.',
    userError: true,
  },
  TAU_LOCAL_CHECKSUM: {
    title: "A downloaded model's SHA-256 does not match the one the hub lists",
    hint: 'The partial file was removed; run `tau models pull` again. If it keeps failing the mirror serves a different file.',
    userError: true,
  },
})
