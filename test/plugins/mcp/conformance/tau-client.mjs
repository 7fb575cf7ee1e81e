#!/usr/bin/env node
// The conformance suite's client adapter: `tau-client.mjs <server-url>`, run by
// `@modelcontextprotocol/conformance client --command ...` with MCP_CONFORMANCE_SCENARIO (and,
// for some scenarios, MCP_CONFORMANCE_CONTEXT) set. The client itself is tau-client-run.mjs
// (tau's compiled `mcp` plugin in a kernel). With TAU_CONFORMANCE_HOST naming the socket of a
// tau-client-host.mjs, this process only hands the scenario to that host and relays what it
// reports: one host boots tau once for every scenario of the test (a tau boot is ~0.6 s of CPU,
// a bare node one less than 0.1 s). Without it, the client runs in this process.
// Either way: the client's report on stderr, its exit code as this process's, and a last stdout
// line `tau-client: exit N` (the runner's --suite mode keeps no exit code; the test reads it).
import { connect } from 'node:net'

const url = process.argv[2]
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? ''
const context = process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {}
if (!url) {
  process.stderr.write('usage: MCP_CONFORMANCE_SCENARIO=<scenario> tau-client.mjs <server-url>\n')
  process.exit(2)
}

function finish(code) {
  process.stdout.write(`tau-client: exit ${code}\n`)
  process.exit(code)
}

const host = process.env.TAU_CONFORMANCE_HOST
if (!host) {
  const { runScenario } = await import('./tau-client-run.mjs')
  const write = (text) => process.stderr.write(text)
  let code = 1
  try {
    code = await runScenario({ url, scenario, context, write })
  } catch (error) {
    write(`tau: ${error?.stack ?? error}\n`)
  }
  finish(code)
} else {
  // The host answers with JSON lines: {"stderr": text} as the client reports, then {"exit": N}.
  const socket = connect(host)
  let buffer = ''
  let code = null
  socket.on('connect', () => socket.write(`${JSON.stringify({ url, scenario, context })}\n`))
  socket.on('data', (chunk) => {
    buffer += chunk.toString()
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const message = JSON.parse(buffer.slice(0, end))
      buffer = buffer.slice(end + 1)
      if (typeof message.stderr === 'string') process.stderr.write(message.stderr)
      if (typeof message.exit === 'number') code = message.exit
    }
  })
  socket.on('error', (error) => {
    process.stderr.write(`tau-client: the client host at ${host} failed: ${error.message}\n`)
  })
  socket.on('close', () => {
    if (code === null)
      process.stderr.write(`tau-client: the client host at ${host} closed before an exit code\n`)
    finish(code ?? 1)
  })
}
