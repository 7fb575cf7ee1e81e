/** Test helper: a response body that delivers a text one byte per chunk. */

/** Every event and every multi-byte character crosses a chunk boundary. */
export async function* oneBytePerChunk(text: string): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1)
}
