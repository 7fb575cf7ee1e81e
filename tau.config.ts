/**
 * tau's own example config, used by the README quick start. `tau config` prints what it
 * resolves to; `tau plugins` lists what it loads.
 */
import { defineConfig } from 'tau'

export default defineConfig({
  preset: 'minimal',
  logLevel: 'warn',
})
