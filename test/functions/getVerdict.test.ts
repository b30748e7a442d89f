import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fanOutVerdict } from '../../functions/fanOutVerdict.js';
import { getVerdict } from '../../functions/getVerdict.js';
import { newVerdictId } from '../../shared/verdicts/ids.js';
import { verdictChangeSchema } from '../../shared/verdicts/schema.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';

let verdictId: string;

beforeAll(async () => {
  await startHarness();
  verdictId = newVerdictId();
  const change = verdictChangeSchema.parse(VerdictChangeMother.withRecipients(5));
  await fanOutVerdict(
    { verdictId, acceptedAt: new Date().toISOString(), change },
    new InvocationContext({ logHandler: () => undefined }),
  );
});
afterAll(stopHarness);

function get(path: string): Promise<HttpResponseInit> {
  const url = new URL(`http://localhost:7071/api/${path}`);
  const id = url.pathname.split('/')[3] ?? '';
  return getVerdict(
    new HttpRequest({ method: 'GET', url: url.toString(), params: { id } }),
    new InvocationContext({ logHandler: () => undefined }),
  );
}

type Body = {
  verdict: { verdictId: string; status: string; recipients: number };
  remediations: { recipient: string; status: string }[];
  continuationToken?: string;
  next?: string;
  error: { code: string };
};
const body = (r: HttpResponseInit) => r.jsonBody as Body;

describe('GET /api/verdicts/{id}', () => {
  it('returns the verdict row and its per-recipient rows', async () => {
    const response = await get(`verdicts/${verdictId}`);
    expect(response.status).toBe(200);
    expect(body(response).verdict).toMatchObject({ verdictId, status: 'fannedOut', recipients: 5 });
    expect(
      body(response)
        .remediations.map((r) => r.recipient)
        .sort(),
    ).toEqual([
      'user1@contoso.com',
      'user2@contoso.com',
      'user3@contoso.com',
      'user4@contoso.com',
      'user5@contoso.com',
    ]);
  });

  it('pages the rows with a continuation token and a next link', async () => {
    const first = body(await get(`verdicts/${verdictId}?pageSize=2`));
    expect(first.remediations).toHaveLength(2);
    expect(first.next).toContain(`/api/verdicts/${verdictId}?pageSize=2&continuationToken=`);
    const seen = [...first.remediations];
    let next = first.next;
    while (next) {
      const page = body(await get(next.replace('http://localhost:7071/api/', '')));
      seen.push(...page.remediations);
      next = page.next;
    }
    expect(new Set(seen.map((r) => r.recipient)).size).toBe(5);
  });

  it('answers 404 for an unknown id and for a malformed one', async () => {
    const unknown = await get(`verdicts/${newVerdictId(new Date(0))}`);
    expect(unknown.status).toBe(404);
    expect(body(unknown).error.code).toBe('VerdictNotFound');
    expect((await get('verdicts/..%2F..%2Fsecrets')).status).toBe(404);
  });

  it('answers 400 for a page size out of range', async () => {
    const response = await get(`verdicts/${verdictId}?pageSize=1001`);
    expect(response.status).toBe(400);
    expect(body(response).error.code).toBe('ValidationFailed');
  });
});
