/** The permissions plugin's error codes. */
import { defineErrors } from '../../kernel/index.js'

export const PERMISSIONS_ERRORS = defineErrors('permissions', {
  TAU_PERMISSION_MODE_DISABLED: {
    title: 'A permission mode was asked for (a flag, a command, a setting) that a settings file disables',
    hint: "Use another mode (--permission-mode default or acceptEdits); disableBypassPermissionsMode in a managed (policy) file is the machine owner's and holds against every flag.",
    userError: true,
  },
  TAU_SETTINGS_ENV_READ_ONLY: {
    title: "The settings files' `env` could not be applied: the kernel's env is read-only",
    hint: "Give the kernel a writable env (runCli's `env`, KernelOptions.env), e.g. `{ ...process.env }`: the settings files' variables are written into it. createAgent({ env }) copies the env it is given.",
    userError: false,
  },
})
