/** The acp plugin's config (`acp` in tau.config.ts). */
import { z } from 'zod'

export const acpConfig = z.object({
  /**
   * Where Bash runs when the editor offers terminals: `auto` (default) in the editor's terminal
   * unless tau's sandbox confines tools (bubblewrap), `client` always there, `environment` never.
   */
  terminal: z.enum(['auto', 'client', 'environment']).default('auto'),
  /** Text files read and written through the editor's buffers (`client`, default) or on disk (`environment`). */
  files: z.enum(['client', 'environment']).default('client'),
})

export type AcpConfig = z.infer<typeof acpConfig>
