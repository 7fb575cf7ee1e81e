/**
 * BM25 (Okapi) over each skill's name and description: a small lexical ranker, enough to order
 * the skills list by the user's prompt and to hint the likely skill. No stemming beyond
 * lowercasing, splitting on anything that is not a letter or digit, and a short stop list.
 */

const STOP = new Set(
  'a an and are as at be by can do for from how i in is it me my of on or please that the this to use used using when with you your'.split(
    ' ',
  ),
)

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((token) => token.length > 1 && !STOP.has(token))
}

export interface Bm25Document {
  readonly id: string
  readonly text: string
}

export interface Bm25Options {
  readonly k1?: number
  readonly b?: number
}

export class Bm25Index {
  private readonly docs: Array<{ id: string; tf: Map<string, number>; length: number }> = []
  private readonly df = new Map<string, number>()
  private readonly avgLength: number
  private readonly k1: number
  private readonly b: number

  constructor(documents: readonly Bm25Document[], options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2
    this.b = options.b ?? 0.75
    let total = 0
    for (const doc of documents) {
      const tokens = tokenize(doc.text)
      const tf = new Map<string, number>()
      for (const token of tokens) tf.set(token, (tf.get(token) ?? 0) + 1)
      for (const token of tf.keys()) this.df.set(token, (this.df.get(token) ?? 0) + 1)
      this.docs.push({ id: doc.id, tf, length: tokens.length })
      total += tokens.length
    }
    this.avgLength = documents.length > 0 ? total / documents.length || 1 : 1
  }

  /** Every document with its score for the query, best first (ties by id). */
  rank(query: string): Array<{ id: string; score: number }> {
    const terms = [...new Set(tokenize(query))]
    const n = this.docs.length
    const scored = this.docs.map((doc) => {
      let score = 0
      for (const term of terms) {
        const f = doc.tf.get(term)
        if (!f) continue
        const df = this.df.get(term) ?? 0
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5))
        score +=
          (idf * (f * (this.k1 + 1))) / (f + this.k1 * (1 - this.b + (this.b * doc.length) / this.avgLength))
      }
      return { id: doc.id, score }
    })
    return scored.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
  }
}
