import { describe, expect, it } from 'vitest';

import { pullConfiguredSources } from '../../../shared/app/pullSources.js';
import { InMemoryQueue } from '../../../shared/queue/inMemoryQueue.js';
import { rejection } from '../../support/identity.js';
import { configDocument, testServices } from '../../support/services.js';

describe('pullConfiguredSources', () => {
  it('before any configuration is applied, polls nothing and sends nothing', async () => {
    const queue = new InMemoryQueue();
    const services = testServices({ queue });
    const lines: string[] = [];

    expect(await pullConfiguredSources(services, (l) => lines.push(l))).toEqual([]);
    expect(queue.stats('verdicts').active).toBe(0);
    expect(lines).toEqual([]);
  });

  it('with a configuration but services without a SourceCursors store, fails as a configuration error that names the store', async () => {
    const queue = new InMemoryQueue();
    const services = testServices({ queue });
    await services.configStore.put(configDocument());

    const error = await rejection(pullConfiguredSources(services, () => undefined));
    expect(error.code).toBe('ConfigurationError');
    expect(error.message).toContain('no SourceCursors store');
  });
});
