/** Default lease TTL: a worker that stops renewing is taken over after this long (ms). */
export const POSTGRES_LEASE_TTL_MS = 30_000
