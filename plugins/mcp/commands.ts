/** `tau mcp list|add|remove|prompts|login|logout`. */
import { type CliCommand, TauError } from '../../kernel/index.js'
import { openInBrowser } from './browser.js'
import type { ServerInfo } from './connection.js'
import { MCP_ERRORS, messageOf } from './errors.js'
import { editMcpFile } from './project-file.js'
import { argumentHint } from './prompt-commands.js'
import type { LoginResult, McpServers } from './servers.js'

function usage(message: string): TauError {
  return new TauError(MCP_ERRORS.TAU_MCP_USAGE, message, { plugin: 'mcp' })
}

const SERVER_NAME = /^[A-Za-z0-9_-]+$/

function pairs(values: unknown, separator: string, what: string): Record<string, string> {
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values]
  const out: Record<string, string> = {}
  for (const item of list) {
    const text = String(item)
    const at = text.indexOf(separator)
    if (at <= 0) throw usage(`${what} '${text}' is not of the form NAME${separator}VALUE`)
    out[text.slice(0, at).trim()] = text.slice(at + separator.length).trim()
  }
  return out
}

/** `env`: the kernel's, where `tau mcp login` finds BROWSER and the display for the browser. */
export function mcpCommands(servers: McpServers, projectDir: string, env: NodeJS.ProcessEnv): CliCommand[] {
  const list: CliCommand = {
    name: 'mcp list',
    description:
      "show each MCP server of the project (config, .mcp.json, --mcp-config): transport, status and tools; a session's own servers are shown by /mcp in that session",
    needs: 'start',
    options: [{ flags: '--json', description: 'print JSON' }],
    async run({ options, stdout }) {
      await servers.whenStarted()
      const all = servers.list()
      if (options.json) {
        stdout.write(`${JSON.stringify(all, null, 2)}\n`)
        return 0
      }
      if (all.length === 0) {
        stdout.write('no MCP servers are configured (add one with `tau mcp add NAME -- COMMAND ARGS...`)\n')
        return 0
      }
      for (const server of all) stdout.write(renderServer(server))
      stdout.write(SESSION_NOTE)
      return all.some((s) => s.status === 'failed' || s.status === 'needs-auth') ? 1 : 0
    },
  }
  const add: CliCommand = {
    name: 'mcp add',
    description: "add an MCP server to the project's .mcp.json: NAME -- COMMAND ARGS..., or NAME --url URL",
    arguments: [
      { name: '<name>' },
      { name: '[command...]', description: 'the stdio command and its arguments, after --' },
    ],
    options: [
      { flags: '--url <url>', description: 'a remote server (streamable HTTP, or SSE with --transport sse)' },
      { flags: '--transport <kind>', description: 'http (default for --url) or sse' },
      { flags: '-e, --env <pair...>', description: 'an environment variable for a stdio server, NAME=VALUE' },
      { flags: '-H, --header <header...>', description: "an HTTP header for a remote server, 'Name: value'" },
    ],
    async run({ args, options, stdout }) {
      const name = String(args[0] ?? '')
      const command = Array.isArray(args[1]) ? args[1] : []
      if (!SERVER_NAME.test(name))
        throw usage(`'${name}' is not a server name (letters, digits, '_' and '-')`)
      const url = typeof options.url === 'string' ? options.url : undefined
      const transport = options.transport === undefined ? undefined : String(options.transport)
      if (transport !== undefined && transport !== 'http' && transport !== 'sse') {
        throw usage(`--transport must be http or sse, not '${transport}'`)
      }
      let entry: Record<string, unknown>
      if (url !== undefined) {
        if (command.length > 0) throw usage('give either --url or a command after --, not both')
        try {
          new URL(url)
        } catch {
          throw usage(`--url '${url}' is not a URL`)
        }
        const headers = pairs(options.header, ':', 'header')
        entry = { type: transport ?? 'http', url, ...(Object.keys(headers).length ? { headers } : {}) }
      } else {
        if (command.length === 0) throw usage('give the server command after --, or --url URL')
        if (transport !== undefined) throw usage('--transport is for --url servers')
        const env = pairs(options.env, '=', 'env')
        const [cmd, ...rest] = command
        entry = { command: cmd, args: rest, ...(Object.keys(env).length ? { env } : {}) }
      }
      let replaced = false
      const file = await editMcpFile(projectDir, (all) => {
        replaced = name in all
        all[name] = entry
      })
      stdout.write(`${replaced ? 'replaced' : 'added'} MCP server '${name}' in ${file}\n`)
      return 0
    },
  }
  const remove: CliCommand = {
    name: 'mcp remove',
    description: "remove an MCP server from the project's .mcp.json",
    arguments: [{ name: '<name>' }],
    async run({ args, stdout, stderr }) {
      const name = String(args[0] ?? '')
      let found = false
      const file = await editMcpFile(projectDir, (all) => {
        found = name in all
        delete all[name]
      })
      if (!found) {
        stderr.write(`there is no MCP server '${name}' in ${file}\n`)
        return 1
      }
      stdout.write(`removed MCP server '${name}' from ${file}\n`)
      return 0
    },
  }
  const prompts: CliCommand = {
    name: 'mcp prompts',
    description: 'list the prompts of the connected MCP servers (the /mcp__<server>__<prompt> commands)',
    needs: 'start',
    options: [{ flags: '--json', description: 'print JSON' }],
    async run({ options, stdout }) {
      await servers.whenStarted()
      const all = await servers.prompts()
      if (options.json) {
        stdout.write(`${JSON.stringify(all, null, 2)}\n`)
        return 0
      }
      if (all.length === 0) {
        stdout.write('no connected MCP server offers prompts\n')
        return 0
      }
      for (const prompt of all) {
        const args = argumentHint(prompt)
        const about = prompt.description ?? prompt.title
        stdout.write(`/${prompt.command}${args ? ` ${args}` : ''}${about ? `  ${about}` : ''}\n`)
      }
      return 0
    },
  }
  const login: CliCommand = {
    name: 'mcp login',
    description:
      'authorize tau with a remote MCP server (OAuth): prints the URL to open, waits for the browser',
    arguments: [{ name: '<name>' }],
    options: [
      { flags: '--no-browser', description: 'only print the authorization URL (no browser is opened)' },
    ],
    async run({ args, options, stdout, stderr, signal }) {
      const name = String(args[0] ?? '')
      const terminal = (stdout as NodeJS.WriteStream).isTTY === true
      const useBrowser = options.browser !== false && terminal
      let result: LoginResult
      try {
        result = await servers.login(
          name,
          async ({ url }) => {
            stdout.write(`Open this URL to authorize tau for '${name}':\n\n  ${url}\n\n`)
            if (useBrowser && openInBrowser(url, env)) stderr.write('(opened in your browser)\n')
            stderr.write('waiting for the authorization to come back...\n')
          },
          signal,
        )
      } catch (error) {
        const message = messageOf(error)
        if (/^there is no MCP server|is a stdio server|has `oauth: false`/.test(message)) throw usage(message)
        throw new TauError(
          MCP_ERRORS.TAU_MCP_LOGIN_FAILED,
          `login to MCP server '${name}' failed: ${message}`,
          {
            plugin: 'mcp',
          },
        )
      }
      stdout.write(
        result.authorized
          ? `logged in to MCP server '${name}' (credentials in ${result.file})\n`
          : `MCP server '${name}' connected without asking for authorization; nothing to store\n`,
      )
      return 0
    },
  }
  const logout: CliCommand = {
    name: 'mcp logout',
    description: "forget a remote MCP server's stored OAuth tokens and client registration",
    arguments: [{ name: '<name>' }],
    async run({ args, stdout }) {
      const name = String(args[0] ?? '')
      let result: ReturnType<McpServers['logout']>
      try {
        result = servers.logout(name)
      } catch (error) {
        throw usage(messageOf(error))
      }
      stdout.write(
        result.removed
          ? `logged out of MCP server '${name}' (removed ${result.file})\n`
          : `no stored credentials for MCP server '${name}'\n`,
      )
      return 0
    },
  }
  return [list, add, remove, prompts, login, logout]
}

/** What `tau mcp list` leaves out, said under its list. */
export const SESSION_NOTE =
  "(the project's servers: config, .mcp.json, --mcp-config; servers a session was given by tau serve, an editor or the SDK are its own: /mcp in that session shows them)\n"

function renderServer(server: ServerInfo): string {
  const lines = [
    `${server.name}  ${server.transport}  ${server.status}${server.error ? `: ${server.error}` : ''}`,
  ]
  if (server.status === 'connected') {
    lines.push(
      `  ${server.tools.length} tool${server.tools.length === 1 ? '' : 's'}${server.tools.length ? `: ${server.tools.join(', ')}` : ''}`,
    )
  }
  return `${lines.join('\n')}\n`
}
