/**
 * `headless`: the frontend of `tau start -p "PROMPT"`. Runs one prompt in a new agent session
 * with nobody to ask (a call that needs approval is denied, with a reason the model reads),
 * prints the result as text, JSON or stream-json, and exits 0 on success, 1 when the run
 * failed, 2 on a usage error.
 */
import { randomUUID } from 'node:crypto'
import { resolve as resolvePath } from 'node:path'
import { z } from 'zod'
import {
  definePlugin,
  type FrontendRunContext,
  frontendRef,
  isTauError,
  type Session,
} from '../../kernel/index.js'
import {
  type AgentSessionOptions,
  agentHooksRef,
  agentRuntimeRef,
  NOBODY_TO_ASK,
  type UserInteraction,
} from '../agent/index.js'
import { mcpServersRef } from '../mcp/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { environmentRef } from '../sandbox/index.js'
import { type ResumePlan, sessionServiceRef } from '../session/index.js'
import { SessionController } from '../session-controller/index.js'
import { skillCatalogRef } from '../skills/index.js'
import { slashCommandsRef } from '../slash-commands/index.js'
import { subagentCatalogRef } from '../subagents/index.js'
import { toolRegistryRef, type UserQuestionsAnswer, type UserQuestionsRequest } from '../tools/index.js'
import { type HeadlessArgs, parseHeadlessArgs, USAGE } from './args.js'
import { checkAnswer, resolveModel, schemaInstruction, userTurns } from './claude-flags.js'
import { interactiveRunnerRef } from './interactive.js'
import { type InitInfo, OutputWriter } from './output.js'
import { promptToolAsk, promptToolQuestions } from './permission-prompt.js'

export {
  type HeadlessArgs,
  OPTIONS as HEADLESS_OPTIONS,
  type OutputFormat,
  parseHeadlessArgs,
  splitRules,
} from './args.js'
export {
  type InteractiveRunContext,
  type InteractiveRunner,
  interactiveRunnerRef,
} from './interactive.js'
export { type InitInfo, OutputWriter, resultSubtype, wireUsage } from './output.js'

export const INTERACTIVE_UNAVAILABLE =
  'tau: the interactive terminal is not available yet. Run a prompt headless: tau start -p "PROMPT" (or pipe the prompt on stdin).'

function isTTY(stream: NodeJS.ReadableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}

async function readAll(stream: NodeJS.ReadableStream, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = []
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  )
  const reading = (async () => {
    for await (const chunk of stream)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  })()
  await Promise.race([reading, aborted])
  return Buffer.concat(chunks).toString('utf8')
}

/** A session that could not be opened: the error's code, and 2 for a usage error (a bad rule). */
function fail(output: OutputWriter, error: unknown): number {
  const code = isTauError(error) ? error.code : 'TAU_AGENT_FAILED'
  const hint = isTauError(error) ? ` (${error.hint})` : ''
  output.failure(code, `${error instanceof Error ? error.message : String(error)}${hint}`)
  // A rule that is not valid syntax (--allowed-tools) is a usage error, like a bad flag.
  return code === 'TAU_CLI_USAGE' ? 2 : 1
}

/** --append-system-prompt and --json-schema's instruction, in that order. */
function appended(args: HeadlessArgs): string[] {
  return [
    ...(args.appendSystemPrompt !== undefined ? [args.appendSystemPrompt] : []),
    ...(args.jsonSchema !== undefined ? [schemaInstruction(args.jsonSchema)] : []),
  ]
}

/**
 * One user turn; with --json-schema the answer is checked, and a mismatch is sent back once
 * with what was wrong. The result line carries `structured_output`, or is an error.
 */
async function runStructured(
  prompt: string | undefined,
  runOnce: (text: string | undefined) => Promise<void>,
  output: OutputWriter,
  args: HeadlessArgs,
): Promise<void> {
  output.beginPrompt()
  await runOnce(prompt)
  // The result line waits for the models' limits (modelUsage).
  await output.settled()
  const schema = args.jsonSchema
  if (schema === undefined) return
  for (let attempt = 1; ; attempt++) {
    const result = output.result
    if (!result) return
    if (result.isError) return output.emitResult(result)
    const checked = checkAnswer(result.text, schema)
    if (checked.ok) return output.emitResult(result, { structured_output: checked.value })
    if (attempt === 2) {
      const message = `the answer does not match --json-schema after a retry: ${checked.problem}`
      return output.emitResult(
        { ...result, isError: true, error: { code: 'TAU_AGENT_FAILED', message } },
        { subtype: 'error_max_structured_output_retries' },
      )
    }
    await runOnce(
      `Your answer did not match the required JSON Schema: ${checked.problem}. Answer again with only a JSON value that matches it.`,
    )
    await output.settled()
  }
}

const headlessConfig = z.object({
  /** `--model` aliases to `provider:model` refs, over Claude Code's (sonnet, opus, haiku). */
  modelAliases: z.record(z.string(), z.string()).default({}),
})

export default definePlugin({
  name: 'headless',
  description: 'Runs `tau start -p "PROMPT"`: one prompt, printed as text, json or stream-json',
  dependsOn: ['agent'],
  optionalDependsOn: [
    'session',
    'slash-commands',
    'mcp',
    'tools',
    'providers',
    'skills',
    'subagents',
    'sandbox',
  ],
  config: headlessConfig,
  setup(ctx) {
    const runtime = ctx.resolve(agentRuntimeRef)
    const registry = ctx.tryResolve(toolRegistryRef)
    // --append-system-prompt, per run session (a subagent's prompt is its own).
    const appendFor = new Map<string, string>()
    ctx.hooksOf(agentHooksRef).systemPrompt.tap((prompt) => {
      const text = appendFor.get(prompt.sessionId)
      return text === undefined
        ? prompt
        : { ...prompt, sections: [...prompt.sections, { id: 'append-system-prompt', text }] }
    })
    /** --tools: the built-in tools left out (bare names hide them from the model). */
    const hiddenTools = (tools: readonly string[] | undefined): string[] => {
      if (tools === undefined || !registry) return []
      return registry
        .list()
        .map((tool) => tool.name)
        .filter((name) => !name.startsWith('mcp__') && !tools.includes(name))
    }
    const write = (stream: NodeJS.WritableStream) => (text: string) => {
      stream.write(text)
    }

    /** What the init line lists beyond the session: slash commands, agents, skills, the key's source. */
    async function initLists(slashCommandsOn: boolean): Promise<InitInfo> {
      const commands = slashCommandsOn ? ctx.tryResolve(slashCommandsRef) : undefined
      const skills = ctx.tryResolve(skillCatalogRef)
      const agents = ctx.tryResolve(subagentCatalogRef)
      const providers = ctx.tryResolve(providerRegistryRef)
      // A listing that fails (a bad command file) leaves its list empty; the run goes on.
      const [commandList, skillIndex] = await Promise.all([
        commands?.list().catch(() => undefined),
        skills?.load().catch(() => undefined),
      ])
      return {
        slashCommands: commandList?.commands.map((command) => command.name) ?? [],
        skills: skillIndex?.skills.map((skill) => skill.name) ?? [],
        agents: agents?.list().map((agent) => agent.name) ?? [],
        apiKeySource: (model: string) => {
          try {
            if (!providers) return 'none'
            return providers.get(providers.ref(model).provider).apiKeySource?.() ?? 'none'
          } catch {
            return 'none'
          }
        },
      }
    }

    async function run(context: FrontendRunContext): Promise<number> {
      const err = write(context.stderr)
      const parsed = parseHeadlessArgs(context.argv)
      if (!parsed.ok) {
        err(`tau: ${parsed.error}\n${USAGE}\n`)
        return 2
      }
      const args = parsed.value
      const mcp = ctx.tryResolve(mcpServersRef)
      const streamIn = args.inputFormat === 'stream-json'
      const lists =
        args.outputFormat === 'text' ? {} : await initLists(!(args.disableSlashCommands || streamIn))
      const output = new OutputWriter(args.outputFormat, write(context.stdout), err, args.verbose, {
        ...lists,
        ...(mcp ? { mcpServers: () => mcp.list().map((s) => ({ name: s.name, status: s.status })) } : {}),
        partialMessages: args.includePartialMessages === true,
        holdResults: args.jsonSchema !== undefined,
        modelLimits: async (model) => {
          const caps = await ctx.tryResolve(providerRegistryRef)?.capabilities(model)
          return (
            caps && {
              contextWindow: caps.contextWindow,
              ...(caps.maxOutputTokens ? { maxOutputTokens: caps.maxOutputTokens } : {}),
            }
          )
        },
      })
      let prompt = streamIn ? '(stdin)' : args.prompt
      if (prompt === undefined && !args.print && isTTY(context.stdin)) {
        const interactive = ctx.tryResolve(interactiveRunnerRef)
        if (interactive) return interactive.run({ ...context, args })
      }
      if (prompt === undefined && !isTTY(context.stdin))
        prompt = (await readAll(context.stdin, context.signal)).trim()
      if (context.signal.aborted) return 130
      // --continue / --resume without a prompt: the interrupted run goes on (AgentSession.continue()).
      const resuming = args.continue === true || args.resume !== undefined
      if ((prompt === undefined || prompt === '') && !(resuming && args.print)) {
        if (!args.print) {
          err(`${INTERACTIVE_UNAVAILABLE}\n`)
          return 2
        }
        output.failure('TAU_CLI_USAGE', 'no prompt: give it after -p, or pipe it on stdin')
        return 2
      }
      let sessionOptions: AgentSessionOptions
      try {
        let plan: ResumePlan | undefined
        if (args.continue || args.resume !== undefined) {
          const sessions = ctx.tryResolve(sessionServiceRef)
          if (!sessions) {
            output.failure(
              'TAU_CLI_USAGE',
              '--continue and --resume need the session plugin, which is not loaded',
            )
            return 2
          }
          plan = await sessions.resume(args.resume ?? 'latest', { fork: args.forkSession === true })
          for (const warning of plan.warnings) err(`tau: warning: ${warning}\n`)
        }
        const resumed = plan?.options
        sessionOptions = {
          ...(resumed ?? {}),
          cwd:
            args.cwd === undefined ? (resumed?.cwd ?? ctx.paths.cwd) : resolvePath(ctx.paths.cwd, args.cwd),
          ...(args.model !== undefined
            ? { model: resolveModel(args.model, ctx.config.modelAliases, ctx.env) }
            : {}),
          ...(args.permissionMode !== undefined ? { permissionMode: args.permissionMode } : {}),
          ...(args.sessionId !== undefined ? { id: args.sessionId } : {}),
          ...(args.systemPrompt !== undefined
            ? { systemPrompt: [args.systemPrompt, ...appended(args)].join('\n\n') }
            : {}),
          allowedTools: args.allowedTools,
          disallowedTools: [...args.disallowedTools, ...hiddenTools(args.tools)],
          // --include-partial-messages: the provider's stream events (the loop sends none otherwise).
          ...(args.includePartialMessages ? { streamEvents: true } : {}),
        }
      } catch (error) {
        return fail(output, error)
      }
      // The session logic every frontend shares: `/name args` runs a slash command (a session
      // command such as /compact, or a prompt command's prompt); other text, and a `/name` no
      // source knows, goes to the model as typed. Nobody to ask: every question is answered
      // fail-closed (denied, declined, rejected), with the reason.
      const sessions = ctx.tryResolve(sessionServiceRef)
      // --disable-slash-commands (and stream-json input): every text goes to the model as typed.
      const slashCommands =
        args.disableSlashCommands || streamIn ? undefined : ctx.tryResolve(slashCommandsRef)
      let fallbackModel: string | undefined
      if (args.fallbackModel !== undefined) {
        fallbackModel = resolveModel(args.fallbackModel, ctx.config.modelAliases, ctx.env)
        const providers = ctx.tryResolve(providerRegistryRef)
        const provider = fallbackModel.split(':')[0] ?? ''
        if (!fallbackModel.includes(':') || (providers && !providers.has(provider))) {
          output.failure(
            'TAU_CLI_USAGE',
            `--fallback-model ${args.fallbackModel}: no provider '${provider}' is loaded; give provider:model (${
              providers
                ?.list()
                .map((p) => p.name)
                .join(', ') ?? ''
            })`,
          )
          return 2
        }
      }
      const runOptions = {
        ...(args.maxTurns !== undefined ? { maxTurns: args.maxTurns } : {}),
        ...(args.maxBudgetUsd !== undefined ? { maxCostUsd: args.maxBudgetUsd } : {}),
        ...(fallbackModel !== undefined ? { fallbackModel } : {}),
      }
      // --permission-prompt-tool: the asks go to an MCP tool. Its tool context needs the session's
      // environment, so this run opens the session scope itself (and disposes it at the end).
      let scope: Session | undefined
      // AskUserQuestion: nobody answers (or the prompt tool does); a refusal is a permission
      // denial in the result, as in Claude Code, where the call asks for permission.
      let questions = (_request: UserQuestionsRequest): Promise<UserQuestionsAnswer> =>
        Promise.resolve({ declined: true, reason: NOBODY_TO_ASK })
      let frontend: UserInteraction = {}
      if (args.permissionPromptTool !== undefined) {
        const mcpTools = ctx.tryResolve(mcpServersRef)
        await mcpTools?.whenStarted()
        const name = args.permissionPromptTool
        if (!registry?.get(name)) {
          output.failure(
            'TAU_CLI_USAGE',
            `--permission-prompt-tool ${name}: no such tool; MCP tools are mcp__SERVER__TOOL of a server in .mcp.json, the config or --mcp-config (servers: ${
              mcpTools
                ?.list()
                .map((s) => `${s.name} (${s.status})`)
                .join(', ') || 'none'
            })`,
          )
          return 2
        }
        scope = ctx.createSession({ id: sessionOptions.id ?? randomUUID(), cwd: sessionOptions.cwd })
        const env = scope.tryResolve(environmentRef)
        if (!env) {
          await scope.dispose()
          output.failure(
            'TAU_CLI_USAGE',
            '--permission-prompt-tool needs the sandbox plugin, which is not loaded',
          )
          return 2
        }
        sessionOptions = { ...sessionOptions, id: scope.id, scope }
        const deps = { name, registry, env, logger: ctx.logger }
        frontend = { askPermission: promptToolAsk(deps) }
        questions = promptToolQuestions(deps)
      }
      frontend = {
        ...frontend,
        askQuestions: async (request) => {
          const answer = await questions(request)
          if ('declined' in answer && !request.signal.aborted) {
            output.denied(request.sessionId, request.toolCallId, 'AskUserQuestion', answer.reason ?? '')
          }
          return answer
        },
      }
      const controller = new SessionController({
        runtime,
        sessionOptions,
        frontend,
        unknownCommands: 'prompt',
        ...(Object.keys(runOptions).length > 0 ? { runOptions } : {}),
        ...(sessions ? { sessions } : {}),
        ...(slashCommands ? { slashCommands } : {}),
      })
      try {
        const session = controller.open()
        if (args.systemPrompt === undefined && appended(args).length > 0) {
          appendFor.set(session.id, appended(args).join('\n\n'))
        }
        const dirs = args.addDirs ?? []
        if (dirs.length > 0) {
          session.permissions?.addDirectories?.(dirs.map((dir) => resolvePath(ctx.paths.cwd, dir)))
        }
      } catch (error) {
        await scope?.dispose()
        return fail(output, error)
      }
      // No prompt (--continue alone): the session goes on from where it stopped.
      const runOnce = (text: string | undefined) =>
        text === undefined || text === '' ? controller.continueRun() : controller.submit(text)
      let ran = false
      let failed = false
      controller.subscribe((event) => {
        if (event.type === 'agent') output.write(event.event)
        else if (event.type === 'run-start') ran = true
        else if (event.type === 'run-end' && event.error !== undefined) {
          failed = true
          output.failure(event.code ?? 'TAU_AGENT_FAILED', event.error)
        } else if (event.type === 'output') {
          // A session command's output is the answer (stdout in text format); notes stay out.
          if (event.tone === 'error') {
            failed = true
            output.failure(event.code ?? 'TAU_AGENT_FAILED', event.text.replace(/^error: /, ''))
          } else if (event.tone !== 'dim') {
            if (args.outputFormat === 'text') context.stdout.write(`${event.text}\n`)
            else err(`${event.text}\n`)
          }
        }
      })
      /** --input-format stream-json: each user line is a turn of the one session; a bad line is a usage error. */
      const runTurns = async (): Promise<number | undefined> => {
        let turns = 0
        const lines = userTurns(context.stdin)
        for (;;) {
          let next: IteratorResult<{ prompt: string; message: Record<string, unknown> }>
          try {
            next = await lines.next()
          } catch (error) {
            output.failure('TAU_CLI_USAGE', error instanceof Error ? error.message : String(error))
            return 2
          }
          if (next.done) break
          turns++
          if (args.replayUserMessages) output.replayUser(next.value.message, controller.session.id)
          await runStructured(next.value.prompt, runOnce, output, args)
          if (context.signal.aborted) break
        }
        if (turns > 0) return undefined
        output.failure('TAU_CLI_USAGE', 'no user message on stdin (--input-format stream-json)')
        return 2
      }
      const onAbort = () => controller.abort()
      context.signal.addEventListener('abort', onAbort, { once: true })
      try {
        if (streamIn) {
          const code = await runTurns()
          if (code !== undefined) return code
        } else await runStructured(prompt, runOnce, output, args)
      } finally {
        appendFor.delete(controller.session.id)
        context.signal.removeEventListener('abort', onAbort)
        await controller.close('exit')
        await scope?.dispose()
      }
      if (!ran || (failed && !output.result)) return failed ? 1 : 0
      const result = output.result
      if (!result) return 1
      if (!result.isError) return 0
      return result.stopReason === 'aborted' ? 130 : 1
    }

    ctx.provide(frontendRef, { run })
  },
})
