import { describe, expect, it } from 'vitest';

import { checkSources, signBody, signersFor, verifySignature } from '../../../shared/verdicts/signature.js';

const policy = (requireSignature: boolean) => ({
  requireSignature,
  sources: [{ name: 'Proofpoint-TAP', signingSecret: 'tap-ref' }, { name: 'soar' }],
});

describe('signersFor', () => {
  it('asks a source for its secret whatever the case or spacing of either name', () => {
    expect(signersFor(['proofpoint-tap'], policy(false))).toEqual({
      ok: true,
      signers: [{ name: 'proofpoint-tap', secretRef: 'tap-ref' }],
    });
    expect(signersFor([' PROOFPOINT-tap '], policy(false))).toEqual({
      ok: true,
      signers: [{ name: 'proofpoint-tap', secretRef: 'tap-ref' }],
    });
  });

  it('asks once for a source named twice in one body', () => {
    const result = signersFor(['proofpoint-tap', 'Proofpoint-TAP'], policy(false));
    expect(result.ok && result.signers).toHaveLength(1);
  });

  it('lets unsigned and undeclared sources through when signatures are not required', () => {
    expect(signersFor(['soar', 'someone-else'], policy(false))).toEqual({ ok: true, signers: [] });
  });

  it('refuses an undeclared source when signatures are required', () => {
    const result = signersFor(['someone-else'], policy(true));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/not declared/);
  });

  it('refuses a declared source without a secret when signatures are required', () => {
    const result = signersFor(['soar'], policy(true));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/no signing secret/);
  });

  it('refuses a body mixing a signing source and an undeclared one when signatures are required', () => {
    expect(signersFor(['proofpoint-tap', 'intruder'], policy(true)).ok).toBe(false);
  });
});

describe('verifySignature', () => {
  const body = Buffer.from('{"eventId":"e1"}');
  const now = 1_800_000_000;

  it('accepts a signature made with the secret over the raw body', () => {
    expect(verifySignature(signBody(body, 's3cret', now), body, 's3cret', now)).toEqual({ ok: true });
  });

  it('refuses a signature more than five minutes old or ahead', () => {
    expect(verifySignature(signBody(body, 's3cret', now - 301), body, 's3cret', now).ok).toBe(false);
    expect(verifySignature(signBody(body, 's3cret', now + 301), body, 's3cret', now).ok).toBe(false);
  });

  it('refuses a header without both parts', () => {
    expect(verifySignature('t=1800000000', body, 's3cret', now).ok).toBe(false);
    expect(verifySignature('', body, 's3cret', now).ok).toBe(false);
  });

  it('names the source whose signature failed', () => {
    const check = checkSources(
      signBody(body, 'other', now),
      body,
      [{ name: 'proofpoint-tap', secret: 's3cret' }],
      now,
    );
    expect(!check.ok && check.message).toMatch(/proofpoint-tap/);
  });
});
