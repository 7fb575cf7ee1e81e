/** The permissions plugin's error codes. */
import { defineErrors } from '../../kernel/index.js'

export const PERMISSIONS_ERRORS = defineErrors('permissions', {
  TAU_PERMISSION_MODE_DISABLED: {
    title: 'A permission mode was asked for (a flag, a command, a setting) that a settings file disables',
    hint: "Use another mode (--permission-mode default or acceptEdits); disableBypassPermissionsMode in a managed (policy) file is the machine owner's and holds against every flag.",
    userError: true,
  },
})
