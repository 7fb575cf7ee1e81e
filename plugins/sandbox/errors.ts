/** The sandbox plugin's error codes, in tau's one catalogue. */
import { defineErrors } from '../../kernel/index.js'

export const SANDBOX_ERRORS = defineErrors('sandbox', {
  TAU_SANDBOX_UNAVAILABLE: {
    title:
      'The sandbox was required (`sandbox.mode: bwrap`, or `failIfUnavailable`) but bubblewrap cannot run here',
    hint: 'Install bubblewrap (`apt-get install bubblewrap`) and make sure user namespaces are allowed (`tau doctor` shows the reason), or set `sandbox.mode: auto` to fall back to running tools unconfined.',
    userError: true,
  },
  TAU_SANDBOX_PROXY: {
    title: "The sandbox's network proxy could not start",
    hint: 'See the cause; the proxy listens on a Unix socket in a private temporary directory, so check that TMPDIR is writable.',
    userError: false,
  },
  TAU_SANDBOX_CONTAINER: {
    title: 'The container environment cannot be made from this configuration',
    hint: "The message names the field (sandbox.container, .devcontainer/devcontainer.json) and what it needs; fix it there, or set `sandbox.mode: auto` to run tools under bubblewrap on the host instead. A container runtime without a network proxy (docker, podman) takes `sandbox.network.mode` 'none' or 'full' only.",
    userError: true,
  },
})
