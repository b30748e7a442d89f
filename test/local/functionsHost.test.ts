import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { routeMatcher } from '../../local/functionsHost.js';
import { routes, timers } from '../../shared/bindings.js';
import { registerAllFunctions } from '../support/runtime.js';

describe('function registrations (what the Azure Functions host receives)', () => {
  it('registers every function with the bindings Azure and the local runtime share', async () => {
    const byName = new Map((await registerAllFunctions()).map((r) => [r.name, r]));
    expect([...byName.keys()].sort()).toEqual(
      [...Object.keys(routes), ...Object.keys(timers), 'fanOutVerdict', 'remediateMailbox'].sort(),
    );
    for (const [name, timer] of Object.entries(timers))
      expect(byName.get(name)?.trigger, name).toMatchObject({
        type: 'timerTrigger',
        schedule: timer.schedule,
      });
    for (const [name, route] of Object.entries(routes)) {
      expect(byName.get(name)?.trigger, name).toMatchObject({
        type: 'httpTrigger',
        route: route.route,
        methods: [...route.methods],
        authLevel: route.authLevel,
      });
      expect(byName.get(name)?.bindings.$return, name).toMatchObject({ type: 'http', direction: 'out' });
    }

    expect(byName.get('ingestVerdict')?.trigger).toMatchObject({
      type: 'httpTrigger',
      direction: 'in',
      route: 'verdicts',
      methods: ['POST'],
      authLevel: 'function',
    });
    expect(byName.get('getVerdict')?.trigger).toMatchObject({
      type: 'httpTrigger',
      route: 'verdicts/{id}',
      methods: ['GET'],
      authLevel: 'function',
    });
    expect(byName.get('health')?.trigger).toMatchObject({
      type: 'httpTrigger',
      route: 'health',
      methods: ['GET'],
      authLevel: 'anonymous',
    });
    expect(byName.get('fanOutVerdict')?.trigger).toMatchObject({
      type: 'serviceBusTrigger',
      direction: 'in',
      queueName: 'verdicts',
      connection: 'ServiceBusConnection',
    });
    expect(byName.get('fanOutVerdict')?.trigger.isSessionsEnabled).toBeFalsy();
    expect(byName.get('remediateMailbox')?.trigger).toMatchObject({
      type: 'serviceBusTrigger',
      queueName: 'remediations',
      connection: 'ServiceBusConnection',
      isSessionsEnabled: true,
    });
    for (const http of ['ingestVerdict', 'getVerdict', 'health'])
      expect(byName.get(http)?.bindings.$return).toMatchObject({ type: 'http', direction: 'out' });
  });

  it('takes routes, queue names and the connection setting from the one definition in shared/bindings: no trigger spells one out', () => {
    const dir = path.resolve(__dirname, '../../functions');
    const literal = /\b(route|queueName|connection|schedule)\s*:\s*['"`]/;
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) =>
        readFileSync(path.join(dir, f), 'utf8')
          .split('\n')
          .map((line, n) => ({ where: `${f}:${n + 1}`, line }))
          .filter(({ line }) => literal.test(line)),
      );
    expect(offenders).toEqual([]);
  });

  it('matches route templates with parameters the way the host does', () => {
    const match = routeMatcher('verdicts/{id}');
    expect(match('/api/verdicts/0123-abc')).toEqual({ id: '0123-abc' });
    expect(match('/api/verdicts')).toBeUndefined();
    expect(match('/api/verdicts/a/b')).toBeUndefined();
    expect(routeMatcher('verdicts')('/api/verdicts/')).toEqual({});
  });
});
