/**
 * tau's own example config, used by the README quick start. The model is a scripted demo (it
 * plays docs/examples/demo-script.json, so no model server is needed); pass --model to use a
 * real one. `tau config` prints what this resolves to; `tau plugins` lists what it loads.
 */
import { defineConfig } from 'tau-agent'

export default defineConfig({
  model: 'scripted:demo',
  providers: {
    scripted: { file: 'docs/examples/demo-script.json' },
  },
  logLevel: 'warn',
})
