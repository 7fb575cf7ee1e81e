/**
 * Writes tiny GGUF v3 llama models in pure Node, so the local provider's tests load a real model
 * through the real node-llama-cpp without any weights from the network.
 *
 * - `random`: seeded random weights (for load, streaming, max tokens and abort).
 * - `scripted`: hand-set weights that make one deterministic tool call and then answer with a
 *   fixed text once a tool result is in the context. One-hot embeddings (each token the script
 *   cares about has a dimension of its own, every other token shares dimension 0, and every token
 *   sets a bias dimension); the output matrix holds the transitions; layer 0, head 0 attends to the
 *   `||result:` token only and writes a "result seen" flag. node-llama-cpp's function-call grammar
 *   does the rest: after `||call:` only a declared function name and its JSON arguments can follow.
 *
 * The vocabulary is character-level SentencePiece: control tokens, 256 byte-fallback tokens, `▁`
 * and the printable ASCII characters, plus the merge chain of `||result:` (so the tokenizer makes
 * it one token) and the scripted model's output tokens.
 */
import { writeFile } from 'node:fs/promises'

export interface TinyGgufOptions {
  readonly weights?: 'random' | 'scripted'
  readonly embd?: number
  readonly layers?: number
  readonly heads?: number
  readonly kvHeads?: number
  readonly ff?: number
  readonly ctx?: number
  readonly seed?: number
  readonly std?: number
  /** Written into general.architecture; anything but `llama` makes a model llama.cpp refuses. */
  readonly architecture?: string
  /** The scripted model's string argument (one token: it fills every string the call has). */
  readonly value?: string
  /** The scripted model's answer after a tool result (one token). */
  readonly answer?: string
  readonly name?: string
  /**
   * The token whose presence means "a tool result is in the context" (a merge chain makes it one
   * token): node-llama-cpp's `||result:` by default, `<tool_result` for tau's JSON tool format.
   */
  readonly resultMarker?: string
  /** Random weights whose end-of-turn tokens never win a greedy pick: generation runs until stopped. */
  readonly neverEnds?: boolean
}

const GGUF_MAGIC = 0x46554747
const ALIGN = 32
enum T {
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}
const TOKEN_NORMAL = 1
const TOKEN_UNKNOWN = 2
const TOKEN_CONTROL = 3
const TOKEN_BYTE = 6

type Kv =
  | { type: T.U32 | T.I32 | T.F32; value: number }
  | { type: T.BOOL; value: boolean }
  | { type: T.STRING; value: string }
  | { type: T.ARRAY; of: T.STRING; value: string[] }
  | { type: T.ARRAY; of: T.F32 | T.I32; value: number[] }

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

interface Vocab {
  tokens: string[]
  scores: number[]
  types: number[]
  id(text: string): number
}

function buildVocab(extra: readonly string[], marker: string): Vocab {
  const tokens: string[] = []
  const scores: number[] = []
  const types: number[] = []
  const add = (text: string, type: number, score = 0) => {
    if (tokens.includes(text)) return
    tokens.push(text)
    scores.push(score)
    types.push(type)
  }
  add('<unk>', TOKEN_UNKNOWN)
  add('<s>', TOKEN_CONTROL)
  add('</s>', TOKEN_CONTROL)
  add('<|im_start|>', TOKEN_CONTROL)
  add('<|im_end|>', TOKEN_CONTROL)
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_BYTE)
  add('\u2581', TOKEN_NORMAL, -1)
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c), TOKEN_NORMAL, -1)
  // The merge chain: each prefix is in the vocabulary with a higher score than single characters.
  const chain = marker
  for (let i = 2; i <= chain.length; i++) add(chain.slice(0, i), TOKEN_NORMAL, i)
  for (const text of extra) add(text, TOKEN_NORMAL, -10)
  return {
    tokens,
    scores,
    types,
    id(text) {
      const at = tokens.indexOf(text)
      if (at < 0) throw new Error(`no token ${JSON.stringify(text)}`)
      return at
    },
  }
}

/** mulberry32: a small seeded PRNG, so the same options write the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Tensor {
  name: string
  dims: number[]
  data: Float32Array
}

function spm(text: string): string {
  return text.replaceAll(' ', '\u2581')
}

/** Builds the model in memory: metadata and tensors. */
export function buildTinyGguf(options: TinyGgufOptions = {}): Buffer {
  const scripted = options.weights === 'scripted'
  const embd = options.embd ?? 64
  const layers = options.layers ?? (scripted ? 1 : 2)
  const heads = options.heads ?? 4
  const kvHeads = options.kvHeads ?? heads
  const ff = options.ff ?? 128
  const ctx = options.ctx ?? 2048
  const headDim = embd / heads
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error('embd / heads must be an even integer')
  const value = spm(options.value ?? 'Paris')
  const answer = spm(options.answer ?? "It's sunny in Paris.")
  const marker = options.resultMarker ?? '||result:'
  const vocab = buildVocab(scripted ? ['||call:', value, answer, 'null'] : [], marker)
  const nVocab = vocab.tokens.length
  const random = prng(options.seed ?? 1)
  const std = options.std ?? 0.02
  const gauss = () => {
    const u = Math.max(random(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()) * std
  }
  const filled = (size: number, fill: number | (() => number)) => {
    const out = new Float32Array(size)
    for (let i = 0; i < size; i++) out[i] = typeof fill === 'number' ? fill : fill()
    return out
  }
  const init = scripted ? 0 : gauss
  const tensors: Tensor[] = []
  const tensor = (name: string, dims: number[], fill: number | (() => number)) => {
    const t = {
      name,
      dims,
      data: filled(
        dims.reduce((a, b) => a * b, 1),
        fill,
      ),
    }
    tensors.push(t)
    return t
  }
  const kvDim = kvHeads * headDim
  const tokenEmbd = tensor('token_embd.weight', [embd, nVocab], init)
  tensor('output_norm.weight', [embd], 1)
  const output = tensor('output.weight', [embd, nVocab], init)
  const blocks: Record<string, Tensor>[] = []
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`
    blocks.push({
      norm: tensor(`${p}attn_norm.weight`, [embd], 1),
      q: tensor(`${p}attn_q.weight`, [embd, embd], init),
      k: tensor(`${p}attn_k.weight`, [embd, kvDim], init),
      v: tensor(`${p}attn_v.weight`, [embd, kvDim], init),
      o: tensor(`${p}attn_output.weight`, [embd, embd], init),
      ffnNorm: tensor(`${p}ffn_norm.weight`, [embd], 1),
      gate: tensor(`${p}ffn_gate.weight`, [embd, ff], init),
      up: tensor(`${p}ffn_up.weight`, [embd, ff], init),
      down: tensor(`${p}ffn_down.weight`, [ff, embd], init),
    })
  }
  if (!scripted && options.neverEnds)
    for (const end of ['<|im_end|>', '</s>'])
      output.data.fill(0, vocab.id(end) * embd, (vocab.id(end) + 1) * embd)
  if (scripted) {
    // Residual dimensions: 0 = any other token, 1 = bias (every token), 2 = "a tool result is in the context".
    const OTHER = 0
    const BIAS = 1
    const FLAG = 2
    // Grammar-forced text arrives as byte tokens (the lowest ids win ties), typed text as
    // characters: a slot holds both forms of its character.
    const slotted: Array<readonly string[]> = [
      ['<0x0A>'],
      ['<0x20>', '\u2581'],
      ['<0x22>', '"'],
      [value],
      [answer],
      ['||call:'],
      [marker],
    ]
    if (embd < 3 + slotted.length) throw new Error('the scripted model needs embd >= 10')
    const slot = new Map(slotted.flatMap((texts, i) => texts.map((text) => [vocab.id(text), 3 + i] as const)))
    for (let t = 0; t < nVocab; t++) {
      tokenEmbd.data[t * embd + BIAS] = 1
      tokenEmbd.data[t * embd + (slot.get(t) ?? OTHER)] = 1
    }
    const s = (text: string) => slot.get(vocab.id(text)) as number
    const block = blocks[0] as Record<string, Tensor>
    // Head 0 uses the head's last rotary pair, which a huge rope.freq_base keeps (almost) still:
    // the query is constant, the key fires on `||result:` only, so attention finds it anywhere.
    const pair = headDim - 2
    ;(block.q as Tensor).data[pair * embd + BIAS] = 2
    ;(block.k as Tensor).data[pair * embd + s(marker)] = 2
    // After RMSNorm a one-hot pair reads sqrt(embd / 2): scale the value back to a flag of about 1.
    ;(block.v as Tensor).data[0 * embd + s(marker)] = 1 / Math.sqrt(embd / 2)
    ;(block.o as Tensor).data[FLAG * embd + 0] = 1
    const logit = (next: string, from: number, weight: number) => {
      output.data[vocab.id(next) * embd + from] = weight
    }
    logit('||call:', s('<0x0A>'), 2) // the turn opens with a tool call
    logit('null', s('<0x20>'), 2) // after `": "`, an optional argument is left out (null) where allowed
    logit(value, s('"'), 2) // a string argument is the value
    logit('"', s(value), 2)
    logit('<|im_end|>', s('||call:'), 2) // without tools, `||call:` ends the turn
    logit(answer, FLAG, 4) // once a result is in: the answer (beats the tool call)
    logit('<|im_end|>', s(answer), 10) // then the end of the turn (beats the answer)
    // tau's JSON tool format, where a grammar allows only {"tool": ...} or {"answer": ...}: the key
    // after `{"` is the call's (`t` beats the lowest-id `a`) until a result is in, then the answer's;
    // the answer string closes after the answer.
    logit('t', s('"'), 1)
    logit('a', FLAG, 3)
    logit('"', s(answer), 5)
  }

  const kv: Array<[string, Kv]> = [
    ['general.architecture', { type: T.STRING, value: options.architecture ?? 'llama' }],
    [
      'general.name',
      { type: T.STRING, value: options.name ?? `tau-tiny-${scripted ? 'scripted' : 'random'}` },
    ],
    ['general.file_type', { type: T.U32, value: 0 }],
    ['general.alignment', { type: T.U32, value: ALIGN }],
    ['llama.vocab_size', { type: T.U32, value: nVocab }],
    // llama.cpp reads hyperparameters as uint32 (a uint64 here fails to load).
    ['llama.context_length', { type: T.U32, value: ctx }],
    ['llama.embedding_length', { type: T.U32, value: embd }],
    ['llama.block_count', { type: T.U32, value: layers }],
    ['llama.feed_forward_length', { type: T.U32, value: ff }],
    ['llama.attention.head_count', { type: T.U32, value: heads }],
    ['llama.attention.head_count_kv', { type: T.U32, value: kvHeads }],
    ['llama.rope.dimension_count', { type: T.U32, value: headDim }],
    ['llama.rope.freq_base', { type: T.F32, value: scripted ? 1e8 : 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: T.F32, value: 1e-5 }],
    ['tokenizer.ggml.model', { type: T.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: T.ARRAY, of: T.STRING, value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: T.ARRAY, of: T.F32, value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: T.ARRAY, of: T.I32, value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: T.U32, value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: T.U32, value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: T.U32, value: vocab.id('<|im_end|>') }],
    ['tokenizer.ggml.add_bos_token', { type: T.BOOL, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: T.BOOL, value: false }],
    ['tokenizer.chat_template', { type: T.STRING, value: CHATML }],
  ]
  return serialize(kv, tensors)
}

function serialize(kv: Array<[string, Kv]>, tensors: Tensor[]): Buffer {
  const parts: Buffer[] = []
  const u32 = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n)
    parts.push(b)
  }
  const u64 = (n: number) => {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(n))
    parts.push(b)
  }
  const str = (s: string) => {
    const bytes = Buffer.from(s, 'utf8')
    u64(bytes.length)
    parts.push(bytes)
  }
  const scalar = (type: T, v: number | boolean | string) => {
    const b = Buffer.alloc(4)
    if (type === T.STRING) return str(v as string)
    if (type === T.BOOL) return parts.push(Buffer.from([v ? 1 : 0]))
    if (type === T.F32) b.writeFloatLE(v as number)
    else if (type === T.I32) b.writeInt32LE(v as number)
    else b.writeUInt32LE(v as number)
    parts.push(b)
  }
  u32(GGUF_MAGIC)
  u32(3)
  u64(tensors.length)
  u64(kv.length)
  for (const [key, entry] of kv) {
    str(key)
    u32(entry.type)
    if (entry.type === T.ARRAY) {
      u32(entry.of)
      u64(entry.value.length)
      for (const item of entry.value) scalar(entry.of, item)
    } else scalar(entry.type, entry.value)
  }
  let offset = 0
  const offsets: number[] = []
  for (const t of tensors) {
    str(t.name)
    u32(t.dims.length)
    for (const d of t.dims) u64(d)
    u32(0) // F32
    offsets.push(offset)
    u64(offset)
    offset += Math.ceil(t.data.byteLength / ALIGN) * ALIGN
  }
  const header = Buffer.concat(parts)
  const dataStart = Math.ceil(header.length / ALIGN) * ALIGN
  const out = Buffer.alloc(dataStart + offset)
  header.copy(out, 0)
  tensors.forEach((t, i) => {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(
      out,
      dataStart + (offsets[i] as number),
    )
  })
  return out
}

export async function writeTinyGguf(path: string, options: TinyGgufOptions = {}): Promise<string> {
  await writeFile(path, buildTinyGguf(options))
  return path
}
