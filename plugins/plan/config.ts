/** The `plan` config slice. */
import { z } from 'zod'

export const planConfig = z.strictObject({
  /** Where ExitPlanMode saves plans, relative to the project directory. Default `.tau/plans`. */
  directory: z
    .string()
    .min(1)
    .refine((dir) => !dir.startsWith('/') && !dir.split(/[\\/]/).includes('..'), {
      message: 'a folder inside the project (relative, without ..)',
    })
    .default('.tau/plans'),
})

export type PlanConfig = z.infer<typeof planConfig>
