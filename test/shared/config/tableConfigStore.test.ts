import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isConfigVersionConflict } from '../../../shared/config/conflict.js';
import { TableConfigStore } from '../../../shared/config/tableConfigStore.js';
import { type RunningAzurite, startAzurite } from '../../support/azurite.js';
import { configDocument } from '../../support/services.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

/**
 * A store whose pointer update is preceded, once, by another worker's complete apply: the second
 * writer's If-Match then carries a stale ETag, exactly as when two operators apply at once.
 */
function storeWithInterloper(interloper: () => Promise<unknown>): TableConfigStore {
  let fired = false;
  const policy: PipelinePolicy = {
    name: 'interloper',
    async sendRequest(request, next) {
      const pointerUpdate = request.method === 'PUT' && request.headers.get('If-Match') !== undefined;
      if (pointerUpdate && !fired) {
        fired = true;
        await interloper();
      }
      return next(request);
    },
  };
  return new TableConfigStore(
    {
      connectionString: azurite.connectionString,
      options: { allowInsecureConnection: true, additionalPolicies: [{ policy, position: 'perCall' }] },
    },
    0,
  );
}

function plainStore(): TableConfigStore {
  return new TableConfigStore(
    { connectionString: azurite.connectionString, options: { allowInsecureConnection: true } },
    0,
  );
}

describe('TableConfigStore pointer', () => {
  it('moves the version pointer only if it is unchanged since it was read (If-Match of its ETag, never *)', async () => {
    const first = configDocument({ forwardTo: 'first@contoso.com' });
    const theirs = configDocument({ forwardTo: 'theirs@contoso.com' });
    const mine = configDocument({ forwardTo: 'mine@contoso.com' });
    const base = await plainStore().put(first);

    const store = storeWithInterloper(() => plainStore().put(theirs));
    const outcome = await store.put(mine, base).then(
      () => 'applied',
      (error: unknown) => (isConfigVersionConflict(error) ? 'conflict' : `other: ${String(error)}`),
    );

    expect(outcome).toBe('conflict');
    expect((await plainStore().get())?.document.forwardTo).toBe('theirs@contoso.com');
  });

  it('without If-Match from the caller, a lost race is retried and the last writer wins on a fresh ETag', async () => {
    const first = configDocument({ forwardTo: 'first@contoso.com' });
    const theirs = configDocument({ forwardTo: 'theirs@contoso.com' });
    const mine = configDocument({ forwardTo: 'mine@contoso.com' });
    await plainStore().put(first);

    let interloperRan = false;
    const store = storeWithInterloper(async () => {
      await plainStore().put(theirs);
      interloperRan = true;
    });
    await store.put(mine);

    expect(interloperRan).toBe(true);
    expect((await plainStore().get())?.document.forwardTo).toBe('mine@contoso.com');
  });
});
