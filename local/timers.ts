import type { InvocationContext } from '@azure/functions';

import { ensureError } from '../shared/errors.js';
import type { RegisteredFunction } from './functionsHost.js';

/**
 * The timer-triggered functions, run one after another, never two runs at once: every `seconds`
 * when given (npm start), else only when `run()` is called (tests).
 */
export function startTimers(
  functions: RegisteredFunction[],
  seconds: number | undefined,
  context: (fn: RegisteredFunction) => InvocationContext,
  log: (line: string) => void,
): { run(): Promise<void>; stop(): Promise<void> } {
  const timers = functions.filter((f) => f.trigger.type === 'timerTrigger');
  let running: Promise<void> | undefined;
  const run = (): Promise<void> =>
    (running ??= (async () => {
      for (const fn of timers)
        await Promise.resolve(
          fn.handler(
            { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: {} },
            context(fn),
          ),
        ).catch((error: unknown) => log(`[${fn.name}] error: ${ensureError(error).message}`));
    })().finally(() => {
      running = undefined;
    }));
  const interval =
    seconds !== undefined && timers.length > 0 ? setInterval(() => void run(), seconds * 1000) : undefined;
  for (const fn of timers)
    log(
      `function    ${fn.name}: timer ${String(fn.trigger.schedule)}${seconds !== undefined ? ` (locally every ${seconds} s)` : ' (not scheduled; runTimers() runs it)'}`,
    );
  return {
    run,
    stop: async () => {
      clearInterval(interval);
      await running;
    },
  };
}
