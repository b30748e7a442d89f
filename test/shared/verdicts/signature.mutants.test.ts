import { createHmac } from 'node:crypto';

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  checkSources,
  maxSignatureAgeSeconds,
  signatureHeader,
  signBody,
  signersFor,
  verifySignature,
} from '../../../shared/verdicts/signature.js';

const body = Buffer.from('{"eventId":"e1"}');
const secret = 's3cret';
const now = 1_800_000_000;
const mac = (t: number | string, raw: Buffer | string = body) =>
  createHmac('sha256', secret).update(`${t}.`).update(raw).digest('hex');

const malformed = 'X-Clawback-Signature must be "t=<unix seconds>,v1=<hex HMAC-SHA256>".';
const stale = 'The signature is older than 5 minutes (or its clock is off); sign the request again.';
const mismatch = 'The signature does not match the body.';

describe('verifySignature, what each refusal says', () => {
  it('is read from the header SPEC §2 names, in the lower case the host hands headers over in', () => {
    expect(signatureHeader).toBe('x-clawback-signature');
  });

  it('asks for the header when there is none', () => {
    expect(verifySignature(null, body, secret, now)).toEqual({
      ok: false,
      message: 'X-Clawback-Signature is required for this source.',
    });
  });

  it.each([
    ['t is missing', `v1=${mac(now)}`],
    ['v1 is missing', `t=${now}`],
    ['t has a letter after its digits', `t=${now}x,v1=${mac(now)}`],
    ['t has a letter before its digits', `t=x${now},v1=${mac(now)}`],
    ['t is longer than 12 digits', `t=0${'1'.repeat(12)},v1=${mac(now)}`],
    ['v1 is one hex digit short', `t=${now},v1=${mac(now).slice(1)}`],
    ['v1 has a character after its hex', `t=${now},v1=${mac(now)}g`],
    ['v1 has a character before its hex', `t=${now},v1=g${mac(now)}`],
    ['the parts are not key=value', `t${now},v1${mac(now)}`],
  ])('refuses the header as malformed when %s', (_case, header) => {
    expect(verifySignature(header, body, secret, now)).toEqual({ ok: false, message: malformed });
  });

  it('refuses as stale, not as a mismatch, a correct signature one second past five minutes either way', () => {
    const limit = maxSignatureAgeSeconds;
    expect(verifySignature(signBody(body, secret, now - limit - 1), body, secret, now)).toEqual({
      ok: false,
      message: stale,
    });
    expect(verifySignature(signBody(body, secret, now + limit + 1), body, secret, now)).toEqual({
      ok: false,
      message: stale,
    });
  });

  it('accepts a signature exactly five minutes old or ahead', () => {
    expect(verifySignature(signBody(body, secret, now - 300), body, secret, now)).toEqual({ ok: true });
    expect(verifySignature(signBody(body, secret, now + 300), body, secret, now)).toEqual({ ok: true });
  });

  it('refuses a well-formed signature over another body, another time or with another secret as a mismatch', () => {
    expect(verifySignature(`t=${now},v1=${mac(now, 'other')}`, body, secret, now)).toEqual({
      ok: false,
      message: mismatch,
    });
    expect(verifySignature(`t=${now},v1=${mac(now - 1)}`, body, secret, now)).toEqual({
      ok: false,
      message: mismatch,
    });
    expect(verifySignature(signBody(body, 'other', now), body, secret, now)).toEqual({
      ok: false,
      message: mismatch,
    });
  });

  it('reads the parts in any order, with spaces around names and values, and hex in either case', () => {
    const header = ` v1 = ${mac(now).toUpperCase()} , t = ${now} `;
    expect(verifySignature(header, body, secret, now)).toEqual({ ok: true });
  });

  it('keeps everything after the first = as the value', () => {
    expect(verifySignature(`t=${now},v1=${mac(now)}=`, body, secret, now)).toEqual({
      ok: false,
      message: malformed,
    });
  });

  it('any single-character change to a valid header is refused', () => {
    const header = signBody(body, secret, now);
    fc.assert(
      fc.property(
        fc.nat({ max: header.length - 1 }),
        fc.constantFrom(...'0123456789abcdefABCDEF=,t v'),
        (at, c) => {
          fc.pre(header[at] !== c && header[at]?.toLowerCase() !== c.toLowerCase());
          const changed = header.slice(0, at) + c + header.slice(at + 1);
          fc.pre(changed.replace(/\s/g, '') !== header);
          expect(verifySignature(changed, body, secret, now).ok).toBe(false);
        },
      ),
    );
  });
});

describe('signing and verifying on the clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('signs and verifies at the current whole second when no time is given', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(now * 1000 + 999));
    const header = signBody(body, secret);
    expect(header).toBe(`t=${now},v1=${mac(now)}`);
    expect(verifySignature(header, body, secret)).toEqual({ ok: true });
    expect(verifySignature(signBody(body, secret, now - 301), body, secret).ok).toBe(false);
  });
});

describe('checkSources', () => {
  it('passes a body whose every signing source signed it, and names the first that did not', () => {
    const header = signBody(body, secret, now);
    expect(checkSources(header, body, [{ name: 'a', secret }], now)).toEqual({ ok: true });
    expect(checkSources(header, body, [], now)).toEqual({ ok: true });
    expect(
      checkSources(
        header,
        body,
        [
          { name: 'a', secret },
          { name: 'b', secret: 'other' },
        ],
        now,
      ),
    ).toEqual({ ok: false, message: `${mismatch} (source "b")` });
  });
});

describe('signersFor, what each refusal says', () => {
  const policy = {
    requireSignature: true,
    sources: [{ name: ' Proofpoint-TAP ', signingSecret: 'tap-ref' }, { name: 'soar' }],
  };

  it('names a declared source without a secret', () => {
    expect(signersFor(['SOAR '], policy)).toEqual({
      ok: false,
      message:
        'Source "soar" has no signing secret, and settings.requireSignature accepts only signed verdicts.',
    });
  });

  it('names an undeclared source', () => {
    expect(signersFor(['proofpoint-tap', 'Intruder'], policy)).toEqual({
      ok: false,
      message:
        'Source "intruder" is not declared in sources, and settings.requireSignature accepts only declared, signed sources.',
    });
  });

  it('lists every signing source of the body once, in the order named', () => {
    const two = {
      requireSignature: true,
      sources: [
        { name: 'b', signingSecret: 'b-ref' },
        { name: 'a', signingSecret: 'a-ref' },
      ],
    };
    expect(signersFor(['a', 'B', 'A'], two)).toEqual({
      ok: true,
      signers: [
        { name: 'a', secretRef: 'a-ref' },
        { name: 'b', secretRef: 'b-ref' },
      ],
    });
  });
});
