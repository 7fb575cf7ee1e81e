/**
 * The MCP SDK, loaded on first use: importing it costs ~200 ms, so nothing imports it at module
 * load. Only types are imported statically (they are erased).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'

export interface McpSdk {
  readonly Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client
  readonly StdioClientTransport: typeof import('@modelcontextprotocol/sdk/client/stdio.js').StdioClientTransport
  readonly getDefaultEnvironment: typeof import('@modelcontextprotocol/sdk/client/stdio.js').getDefaultEnvironment
  readonly StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport
  readonly StreamableHTTPError: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPError
  readonly SSEClientTransport: typeof import('@modelcontextprotocol/sdk/client/sse.js').SSEClientTransport
  readonly ToolListChangedNotificationSchema: typeof import('@modelcontextprotocol/sdk/types.js').ToolListChangedNotificationSchema
  readonly LoggingMessageNotificationSchema: typeof import('@modelcontextprotocol/sdk/types.js').LoggingMessageNotificationSchema
  readonly ProgressNotificationSchema: typeof import('@modelcontextprotocol/sdk/types.js').ProgressNotificationSchema
  readonly ListRootsRequestSchema: typeof import('@modelcontextprotocol/sdk/types.js').ListRootsRequestSchema
  readonly CreateMessageRequestSchema: typeof import('@modelcontextprotocol/sdk/types.js').CreateMessageRequestSchema
  readonly ElicitRequestSchema: typeof import('@modelcontextprotocol/sdk/types.js').ElicitRequestSchema
  readonly McpError: typeof import('@modelcontextprotocol/sdk/types.js').McpError
  readonly JSONRPCMessageSchema: typeof import('@modelcontextprotocol/sdk/types.js').JSONRPCMessageSchema
  readonly ErrorCode: typeof import('@modelcontextprotocol/sdk/types.js').ErrorCode
  readonly AjvJsonSchemaValidator: typeof import('@modelcontextprotocol/sdk/validation/ajv').AjvJsonSchemaValidator
  readonly auth: typeof import('@modelcontextprotocol/sdk/client/auth.js').auth
  readonly UnauthorizedError: typeof import('@modelcontextprotocol/sdk/client/auth.js').UnauthorizedError
}

export type McpAuthExtensions = typeof import('@modelcontextprotocol/sdk/client/auth-extensions.js')

/** The SDK's machine-to-machine providers (client_credentials), loaded only for servers that use them. */
export function loadAuthExtensions(): Promise<McpAuthExtensions> {
  return import('@modelcontextprotocol/sdk/client/auth-extensions.js')
}

export type McpClient = Client

let loading: Promise<McpSdk> | undefined

export function loadSdk(): Promise<McpSdk> {
  loading ??= (async () => {
    const [client, stdio, http, sse, types, ajv, auth] = await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'),
      import('@modelcontextprotocol/sdk/client/stdio.js'),
      import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
      import('@modelcontextprotocol/sdk/client/sse.js'),
      import('@modelcontextprotocol/sdk/types.js'),
      import('@modelcontextprotocol/sdk/validation/ajv'),
      import('@modelcontextprotocol/sdk/client/auth.js'),
    ])
    return {
      Client: client.Client,
      StdioClientTransport: stdio.StdioClientTransport,
      getDefaultEnvironment: stdio.getDefaultEnvironment,
      StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
      StreamableHTTPError: http.StreamableHTTPError,
      SSEClientTransport: sse.SSEClientTransport,
      ToolListChangedNotificationSchema: types.ToolListChangedNotificationSchema,
      LoggingMessageNotificationSchema: types.LoggingMessageNotificationSchema,
      ProgressNotificationSchema: types.ProgressNotificationSchema,
      ListRootsRequestSchema: types.ListRootsRequestSchema,
      CreateMessageRequestSchema: types.CreateMessageRequestSchema,
      ElicitRequestSchema: types.ElicitRequestSchema,
      McpError: types.McpError,
      JSONRPCMessageSchema: types.JSONRPCMessageSchema,
      ErrorCode: types.ErrorCode,
      AjvJsonSchemaValidator: ajv.AjvJsonSchemaValidator,
      auth: auth.auth,
      UnauthorizedError: auth.UnauthorizedError,
    }
  })()
  return loading
}
