#!/usr/bin/env node
// `tau-client-host.mjs <socket>`: serves the conformance runner's clients (tau-client.mjs with
// TAU_CONFORMANCE_HOST=<socket>) from one process. Each connection sends one JSON line
// {url, scenario, context}; the host runs tau's client for it (tau-client-run.mjs: a kernel of
// its own per scenario) and answers with JSON lines, {"stderr": text} as the client reports and a
// last {"exit": N}. Prints `listening <socket>` once it accepts connections; runs until killed.
import { createServer } from 'node:net'
import { runScenario } from './tau-client-run.mjs'

const path = process.argv[2]
if (!path) {
  process.stderr.write('usage: tau-client-host.mjs <socket path>\n')
  process.exit(2)
}

const server = createServer((socket) => {
  let buffer = ''
  let started = false
  const send = (message) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`)
  }
  socket.on('error', () => undefined)
  socket.on('data', (chunk) => {
    if (started) return
    buffer += chunk.toString()
    const end = buffer.indexOf('\n')
    if (end < 0) return
    started = true
    const write = (text) => send({ stderr: text })
    let request
    try {
      request = JSON.parse(buffer.slice(0, end))
    } catch (error) {
      write(`tau-client-host: not a JSON request line: ${error.message}\n`)
      send({ exit: 2 })
      socket.end()
      return
    }
    runScenario({ url: request.url, scenario: request.scenario ?? '', context: request.context ?? {}, write })
      .catch((error) => {
        write(`tau: ${error?.stack ?? error}\n`)
        return 1
      })
      .then((code) => {
        send({ exit: code })
        socket.end()
      })
  })
})
server.listen(path, () => process.stdout.write(`listening ${path}\n`))
