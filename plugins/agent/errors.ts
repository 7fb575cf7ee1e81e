/** The agent's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const AGENT_ERRORS = defineErrors('agent', {
  TAU_AGENT_NO_MODEL: {
    title: 'No model is configured for the agent',
    hint: 'Set `model` in tau.config.ts or pass --model: a local model (`tau models pull hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M`, then it is the default), `ollama:qwen3:8b` with Ollama running, or `openai:gpt-4o` / `anthropic:claude-sonnet-4-5` with OPENAI_API_KEY / ANTHROPIC_API_KEY set.\nNo model yet? The scripted demo plays a recorded session: `--model scripted:demo` in a clone of tau (its tau.config.ts).',
    userError: true,
  },
  TAU_AGENT_BUSY: {
    title: 'A session was asked to run while it was already running',
    hint: 'Wait for the current run to end (or abort it) before starting the next; use another session to run in parallel.',
    userError: false,
  },
  TAU_AGENT_CLOSED: {
    title: 'A closed session was asked to run',
    hint: 'Create a new session with runtime.createSession().',
    userError: false,
  },
  TAU_AGENT_NOTHING_TO_CONTINUE: {
    title: 'A session was asked to continue, but it has no interrupted run',
    hint: 'continue() (and `tau start -p --continue` without a prompt) goes on only where the conversation waits for the model (a run was cut short); give a prompt to go on with a new message.',
    userError: true,
  },
  TAU_AGENT_MAX_TURNS: {
    title: 'The run reached its turn limit before the model finished',
    hint: 'Raise `agent.maxTurns` (or --max-turns), or split the task.',
    userError: false,
  },
  TAU_AGENT_TOKEN_BUDGET: {
    title: 'The run used up its token budget (`agent.maxTokens`)',
    hint: 'Raise `agent.maxTokens`, or split the task.',
    userError: false,
  },
  TAU_AGENT_COST_BUDGET: {
    title: 'The run used up its cost budget (`agent.maxCostUsd`)',
    hint: 'Raise `agent.maxCostUsd`, or use a cheaper model.',
    userError: false,
  },
  TAU_AGENT_TIMEOUT: {
    title: 'The run took longer than its time limit (`agent.timeoutMs`)',
    hint: 'Raise `agent.timeoutMs`, or split the task.',
    userError: false,
  },
  TAU_AGENT_ABORTED: {
    title: 'The run was aborted',
    hint: 'Nothing to do: it was cancelled (Ctrl-C, or the caller aborted it).',
    userError: false,
  },
  TAU_AGENT_PROMPT_BLOCKED: {
    title: 'A userPromptSubmit hook blocked the prompt',
    hint: 'Read the reason given; change the prompt or the hook that blocked it.',
    userError: true,
  },
  TAU_AGENT_HOOK_STOPPED: {
    title: 'A preToolUse or postToolUse hook stopped the run',
    hint: 'Read the reason the hook gave (a command hook answered `continue: false`); change the task or the hook that stopped it.',
    userError: true,
  },
  TAU_AGENT_FAILED: {
    title: 'The run failed with an unexpected error',
    hint: 'Run with --debug to see where it came from.',
    userError: false,
  },
})

export { messageOf } from '../../kernel/index.js'
