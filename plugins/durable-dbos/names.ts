/** The names durable runs are registered and recorded under in DBOS (a small file: the plugin's index imports it without the engine). */

/** The registered name of the agent-run workflow (what `tau submit` enqueues by name). */
export const AGENT_RUN_WORKFLOW = 'tauAgentRun'
/** The name of its step (DBOS's step table and `tau runs show`). */
export const AGENT_RUN_STEP = 'agent-run'
/** The registered name of the workflow-run workflow (`tau submit --workflow`); see workflow-steps.ts. */
export const WORKFLOW_RUN_WORKFLOW = 'tauWorkflowRun'
