import { describe, expect, it } from 'vitest';

import { decideAction } from '../../../shared/remediation/policy.js';
import type { ActionName } from '../../../shared/verdicts/schema.js';
import { configDocument } from '../../support/services.js';

/**
 * The whole decision table, written out by hand: for a policy action (the ceiling) and a requested
 * action, what runs. `F` marks cases that depend on `forwardTo` being configured.
 */
const removalScale: ActionName[] = [
  'none',
  'moveToJunk',
  'moveToDeletedItems',
  'quarantine',
  'softDelete',
  'hardDelete',
];

function decide(policy: ActionName, requested: ActionName | undefined, forwardTo?: string) {
  // restore belongs to the clean verdict only (the configuration refuses it elsewhere).
  const verdict = policy === 'restore' ? 'clean' : 'malicious';
  const config = configDocument({
    policies: [{ verdict, action: policy }],
    ...(forwardTo ? { forwardTo } : {}),
  });
  return decideAction(config, { verdict, ...(requested ? { action: requested } : {}) });
}

describe('policy ceiling', () => {
  it('honours every request at or below the policy on the removal scale, and refuses every one above it', () => {
    for (const [p, policy] of removalScale.entries())
      for (const [r, requested] of removalScale.entries()) {
        const decision = decide(policy, requested);
        if (r <= p)
          expect(decision, `${requested} under ${policy}`).toEqual({ action: requested, mode: 'enforce' });
        else {
          expect(decision.action, `${requested} under ${policy}`).toBe(policy);
          expect(decision.note).toBe(
            `requested action "${requested}" is not allowed by policy; "${policy}" applied`,
          );
        }
      }
  });

  it('takes a request equal to a policy action that is off the removal scale without a note', () => {
    for (const action of ['restore', 'forward', 'forwardAndDelete'] as const)
      expect(decide(action, action, 'soc@contoso.com')).toEqual({ action, mode: 'enforce' });
    expect(decide('restore', 'restore')).toEqual({ action: 'restore', mode: 'enforce' });
  });

  it('never lets an off-scale request through a policy it does not match', () => {
    expect(decide('hardDelete', 'restore', 'soc@contoso.com')).toMatchObject({ action: 'hardDelete' });
    expect(decide('softDelete', 'restore', 'soc@contoso.com')).toMatchObject({ action: 'softDelete' });
    expect(decide('restore', 'quarantine', 'soc@contoso.com')).toMatchObject({ action: 'restore' });
    expect(decide('restore', 'none')).toMatchObject({ action: 'restore' });
  });

  it('forwards only with a configured forwardTo and a policy that removes mail (not none, not restore)', () => {
    for (const policy of removalScale.slice(1))
      expect(decide(policy, 'forward', 'soc@contoso.com'), policy).toEqual({
        action: 'forward',
        mode: 'enforce',
      });
    for (const policy of removalScale.slice(1)) expect(decide(policy, 'forward').action, policy).toBe(policy);
    expect(decide('none', 'forward', 'soc@contoso.com').action).toBe('none');
    expect(decide('restore', 'forward', 'soc@contoso.com').action).toBe('restore');
  });

  it('forwards and deletes only when the policy allows at least softDelete and forwardTo is configured', () => {
    expect(decide('softDelete', 'forwardAndDelete', 'soc@contoso.com').action).toBe('forwardAndDelete');
    expect(decide('hardDelete', 'forwardAndDelete', 'soc@contoso.com').action).toBe('forwardAndDelete');
    expect(decide('quarantine', 'forwardAndDelete', 'soc@contoso.com').action).toBe('quarantine');
    expect(decide('moveToDeletedItems', 'forwardAndDelete', 'soc@contoso.com').action).toBe(
      'moveToDeletedItems',
    );
    expect(decide('hardDelete', 'forwardAndDelete').action).toBe('hardDelete');
    expect(decide('forward', 'forwardAndDelete', 'soc@contoso.com').action).toBe('forward');
  });

  it('uses the policy mode, else the settings mode, and none without a policy', () => {
    const config = configDocument({
      settings: { mode: 'simulate' },
      policies: [{ verdict: 'suspicious', action: 'moveToJunk', mode: 'enforce' }],
    });
    expect(decideAction(config, { verdict: 'suspicious' })).toEqual({
      action: 'moveToJunk',
      mode: 'enforce',
    });
    expect(decideAction(config, { verdict: 'malicious' })).toEqual({ action: 'none', mode: 'simulate' });
  });
});

describe('policy', () => {
  const config = configDocument({
    policies: [
      { verdict: 'malicious', action: 'quarantine' },
      { verdict: 'suspicious', action: 'moveToJunk', mode: 'simulate' },
    ],
  });

  it('uses the policy action and mode for the verdict', () => {
    expect(decideAction(config, { verdict: 'suspicious' })).toEqual({
      action: 'moveToJunk',
      mode: 'simulate',
    });
    expect(decideAction(config, { verdict: 'malicious' })).toEqual({ action: 'quarantine', mode: 'enforce' });
  });

  it('honours a requested action that is no harsher than the policy allows', () => {
    expect(decideAction(config, { verdict: 'malicious', action: 'moveToJunk' }).action).toBe('moveToJunk');
  });

  it('refuses a requested action harsher than the policy, applying the policy and saying why', () => {
    const decision = decideAction(config, { verdict: 'malicious', action: 'hardDelete' });
    expect(decision.action).toBe('quarantine');
    expect(decision.note).toMatch(/not allowed by policy/);
  });

  it('honours a requested forward to the configured address when the policy removes mail, and never without forwardTo', () => {
    const withForward = configDocument({
      forwardTo: 'soc@contoso.com',
      policies: [{ verdict: 'malicious', action: 'softDelete' }],
    });
    expect(decideAction(withForward, { verdict: 'malicious', action: 'forward' }).action).toBe('forward');
    expect(decideAction(withForward, { verdict: 'malicious', action: 'forwardAndDelete' }).action).toBe(
      'forwardAndDelete',
    );
    expect(decideAction(config, { verdict: 'malicious', action: 'forward' }).action).toBe('quarantine');
  });

  it('does not let forwardAndDelete past a policy that stops short of deleting', () => {
    const junkOnly = configDocument({
      forwardTo: 'soc@contoso.com',
      policies: [{ verdict: 'malicious', action: 'moveToJunk' }],
    });
    expect(decideAction(junkOnly, { verdict: 'malicious', action: 'forwardAndDelete' }).action).toBe(
      'moveToJunk',
    );
    expect(decideAction(junkOnly, { verdict: 'malicious', action: 'forward' }).action).toBe('forward');
  });

  it('only finds and reports when no policy covers the verdict', () => {
    expect(decideAction(config, { verdict: 'clean', action: 'hardDelete' }).action).toBe('none');
  });
});
