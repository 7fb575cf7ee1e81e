/** The orchestrate plugin's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const ORCHESTRATE_ERRORS = defineErrors('orchestrate', {
  TAU_WORKFLOW_NOT_FOUND: {
    title: 'There is no workflow of that name',
    hint: 'Define it with defineWorkflow() in tau.config.ts (`orchestrate.workflows`) or in `.tau/workflows/NAME.ts`; `tau workflow list` shows the workflows tau found.',
    userError: true,
  },
  TAU_WORKFLOW_INVALID: {
    title: 'A workflow definition is not valid',
    hint: 'Build workflows with defineWorkflow({ name, input, run }) and the combinators exported by tau-agent (agent, step, chain, route, parallel, vote, orchestrate, refine); the message says which part is wrong.',
    userError: true,
  },
  TAU_WORKFLOW_INPUT_INVALID: {
    title: "The workflow's input does not match its input schema",
    hint: "Pass input that matches the workflow's `input` schema (`tau workflow run NAME --input '{...}'`); the details name the fields.",
    userError: true,
  },
  TAU_WORKFLOW_AGENT_NOT_FOUND: {
    title: 'A workflow step names an agent that is not defined',
    hint: 'Define the agent in `orchestrate.agents` or `subagents.agents` in tau.config.ts, or as `.tau/agents/NAME.md`; the message lists the agents tau knows.',
    userError: true,
  },
  TAU_WORKFLOW_STEP_FAILED: {
    title: 'A workflow step failed',
    hint: 'The message names the step and why; fix the cause and go on with `tau workflow resume RUN_ID` (completed steps are not run again).',
    userError: false,
  },
  TAU_WORKFLOW_OUTPUT_INVALID: {
    title: "An agent step's answer did not match its output schema, also after one retry",
    hint: "Make the agent's instructions ask for the fields of the step's `output` schema, use a model that follows JSON instructions, or loosen the schema.",
    userError: false,
  },
  TAU_WORKFLOW_GATE: {
    title: "A chain's gate stopped the workflow",
    hint: "The gate's reason says what the step before it produced that did not pass; change the input or the step's instructions.",
    userError: false,
  },
  TAU_WORKFLOW_BUDGET: {
    title: "The workflow's budget (tokens, cost, time or workers) is used up",
    hint: "Raise the workflow's `budget` (maxTokens, maxCostUsd, timeoutMs, maxWorkers) or make the task smaller; `tau workflow resume RUN_ID` goes on from the last completed step.",
    userError: false,
  },
  TAU_WORKFLOW_RUN_NOT_FOUND: {
    title: 'There is no workflow run with that id in this project',
    hint: 'List the runs of this project with `tau workflow list`; run ids are shown by `tau workflow run`.',
    userError: true,
  },
  TAU_WORKFLOW_LOCKED: {
    title: 'Another process is running this workflow run',
    hint: 'Wait for it to end, or stop it; a run has one writer at a time.',
    userError: true,
  },
  TAU_WORKFLOW_LOG_CORRUPT: {
    title: "A workflow run's log cannot be read",
    hint: 'A line in the middle of the log is damaged (only a torn last line is tolerated); the file is named in the message.',
    userError: true,
  },
  TAU_WORKFLOW_FINISHED: {
    title: 'The workflow run has already completed',
    hint: 'Start a new run with `tau workflow run NAME`; `tau workflow show RUN_ID` prints what it produced.',
    userError: true,
  },
})
