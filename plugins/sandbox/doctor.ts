/** What `tau doctor` says about the sandbox: which backend tool processes get here, and why. */
import { bwrapStatus } from './bwrap.js'
import { pdeathsigLauncher } from './launcher.js'

export interface SandboxCheck {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

/** `sandboxConfig` is the raw `sandbox` config slice (mode and failIfUnavailable are read). */
export function sandboxChecks(sandboxConfig: unknown): SandboxCheck[] {
  const slice = (typeof sandboxConfig === 'object' && sandboxConfig !== null ? sandboxConfig : {}) as {
    mode?: unknown
    failIfUnavailable?: unknown
  }
  const mode = typeof slice.mode === 'string' ? slice.mode : 'auto'
  const required = mode === 'bwrap' || slice.failIfUnavailable === true
  const status = bwrapStatus()
  const launcher = pdeathsigLauncher()
  const checks: SandboxCheck[] = []
  if (mode === 'off') {
    checks.push({ name: 'bwrap', ok: true, detail: 'sandbox.mode is off: tool processes run unconfined' })
  } else if (status.available) {
    checks.push({
      name: 'bwrap',
      ok: true,
      detail: `${status.version ?? 'bubblewrap'} at ${status.path}: tool processes are confined (sandbox.mode ${mode})`,
    })
  } else {
    checks.push({
      name: 'bwrap',
      ok: !required,
      detail: `${status.reason}${required ? '' : ': tool processes run unconfined (sandbox.mode auto)'}`,
    })
  }
  checks.push({
    name: 'die-with-tau',
    ok: true,
    detail:
      mode !== 'off' && status.available
        ? 'bwrap --die-with-parent'
        : launcher
          ? `${launcher} --pdeathsig (the command's process group is killed when tau dies)`
          : 'no launcher (util-linux setpriv missing): tool processes may outlive a killed tau',
  })
  return checks
}
