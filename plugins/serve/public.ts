/**
 * serve's second public file: the implementation the package's root entry re-exports (the hubs,
 * the server, the OpenAPI document, the stream positions, the token), kept out of index.ts so that
 * loading the plugin (every start of tau, through the presets) does not initialise `tau serve`'s
 * code: index.ts imports it with `import()` when the command runs. Plugins import index.ts only;
 * sdk/index.ts and tests import this file too (test/plugins/public-files.test.ts).
 */
export { EnqueueHub, SERVE_ENQUEUE_ERRORS } from './enqueue.js'
export { SessionHub } from './hub.js'
export { openapiDocument, openapiPath } from './openapi.js'
export { startServer } from './server.js'
export { idOf as streamIdOf, parsePosition as parseStreamPosition } from './stream-buffer.js'
export { loadOrCreateToken, tokenMatches } from './token.js'
