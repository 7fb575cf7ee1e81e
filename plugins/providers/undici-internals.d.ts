/**
 * Types for the two undici modules tau loads directly instead of undici's index (which also loads
 * fetch, WebSocket, cookies, the caches and mocks: ~35 ms of start-up that a model call never
 * uses). undici is pinned to an exact version in package.json, so these paths cannot move under us.
 */
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'

  const PoolClass: typeof Pool
  export default PoolClass
}

declare module 'undici/lib/core/util.js' {
  export function parseHeaders(
    headers: Buffer[] | string[],
    into?: Record<string, string | string[]>,
  ): Record<string, string | string[]>
}
