/**
 * A stand-in for `node:http2`, for undici's client-h2 module only (bin/tau.ts, and the body's
 * bundled undici: scripts/bundle-bin.mjs). undici requires node:http2 as it loads, for HTTP/2
 * connections tau never opens (allowH2 stays off), and Node's http2 modules are about 10 ms of
 * CPU. This has what client-h2 reads at load (protocol constants, fixed by RFC 9113 and nghttp2)
 * and a connect() that loads the real module.
 */
export const constants = {
  HTTP2_HEADER_AUTHORITY: ':authority',
  HTTP2_HEADER_METHOD: ':method',
  HTTP2_HEADER_PATH: ':path',
  HTTP2_HEADER_SCHEME: ':scheme',
  HTTP2_HEADER_CONTENT_LENGTH: 'content-length',
  HTTP2_HEADER_EXPECT: 'expect',
  HTTP2_HEADER_STATUS: ':status',
  HTTP2_HEADER_PROTOCOL: ':protocol',
  NGHTTP2_REFUSED_STREAM: 7,
  NGHTTP2_CANCEL: 8,
}

/** The real `http2.connect`, loaded on the first call. */
export function connect(...args: unknown[]): unknown {
  const real = process.getBuiltinModule('node:http2').connect as (...a: unknown[]) => unknown
  return real(...args)
}
