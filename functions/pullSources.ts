import { app, type InvocationContext, type Timer } from '@azure/functions';

import { pullConfiguredSources } from '../shared/app/pullSources.js';
import { timers } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';

/** Timer → every due pull connector (SPEC §9). A failing source is logged and backed off, never thrown. */
export async function pullSources(_timer: Timer, context: InvocationContext): Promise<void> {
  const outcomes = await pullConfiguredSources(getServices(), (line) => context.log(line));
  for (const o of outcomes)
    if (o.kind === 'failed')
      context.warn(`pull ${o.source} failed (${o.reason}); next try at ${o.nextRunAt}`);
}

app.timer('pullSources', {
  schedule: timers.pullSources.schedule,
  runOnStartup: false,
  handler: pullSources,
});
