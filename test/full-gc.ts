/**
 * A full garbage collection, now, without starting the worker with --expose-gc: the flag set at
 * run time gives each new context a `gc` function. For the tests of a limit that a collection
 * must not lose (plugins/tools/deadline.ts, plugins/scaffold/model-choice.ts).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

export function fullGc(): void {
  gc()
}
