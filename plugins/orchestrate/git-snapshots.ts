/**
 * One `git status` per workspace for the agent sessions of a workflow run that start together
 * (parallel sections, voters, orchestrate workers), for their system prompts' environment
 * section. Each session's prompt is a snapshot of the workspace as the completed steps left it:
 * every step end (and every artefact written) drops the run's snapshots, so a step that runs
 * after another changed files sees those changes. Sessions in one chain therefore each get a
 * fresh one; the saving is in fan-outs, where each would otherwise spawn git at once.
 */
import type { GitFacts } from '../agent/index.js'

export class GitSnapshots {
  private readonly byRun = new Map<string, Map<string, Promise<GitFacts>>>()

  constructor(private readonly compute: (cwd: string, timeoutMs: number) => Promise<GitFacts>) {}

  /** The run's snapshot of `cwd`, taken now unless one was taken since the run's last step end. */
  get(runId: string, cwd: string, timeoutMs: number): Promise<GitFacts> {
    let snapshots = this.byRun.get(runId)
    if (!snapshots) {
      snapshots = new Map()
      this.byRun.set(runId, snapshots)
    }
    let facts = snapshots.get(cwd)
    if (!facts) {
      facts = this.compute(cwd, timeoutMs)
      snapshots.set(cwd, facts)
    }
    return facts
  }

  /** A step of the run ended or wrote to the workspace: later sessions look again. */
  changed(runId: string): void {
    this.byRun.delete(runId)
  }
}
