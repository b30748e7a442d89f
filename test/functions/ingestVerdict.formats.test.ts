import { readFileSync } from 'node:fs';
import path from 'node:path';

import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { ingestVerdict } from '../../functions/ingestVerdict.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import type { VerdictMessage } from '../../shared/verdicts/messages.js';
import { startHarness, stopHarness } from '../support/harness.js';

const fixture = (name: string) => readFileSync(path.resolve(__dirname, '../fixtures/sources', name), 'utf8');

let queue: InMemoryQueue;

afterAll(stopHarness);
beforeEach(async () => {
  ({ queue } = await startHarness({ config: null }));
});

function post(body: string, format?: string): Promise<HttpResponseInit> {
  const url = `http://localhost:7071/api/verdicts${format ? `?format=${format}` : ''}`;
  const request = new HttpRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    body: { string: body },
  });
  return ingestVerdict(request, new InvocationContext({ logHandler: () => undefined }));
}

/** The verdict changes that reached the `verdicts` queue. */
async function queued(): Promise<VerdictMessage[]> {
  const taken: VerdictMessage[] = [];
  const processor = queue.process(
    'verdicts',
    (m) => Promise.resolve(void taken.push(m.body as VerdictMessage)),
    { sessions: false },
  );
  await queue.idle();
  await processor.stop();
  return taken;
}

type Answer = {
  verdicts: { verdictId: string }[];
  notes?: { path: string; message: string }[];
  error: { code: string; details: { path: string }[] };
};
const answer = (r: HttpResponseInit) => r.jsonBody as Answer;

describe("POST /api/verdicts in the platforms' own formats", () => {
  it.each([
    ['proofpoint-siem-all.json', 'proofpoint-tap'],
    ['cisco-secure-endpoint-events.json', 'cisco-secure-endpoint'],
    ['microsoft-defender-alert.json', 'defender'],
  ])('detects %s and enqueues its verdicts as source %s', async (file, source) => {
    const response = await post(fixture(file));
    expect(response.status).toBe(202);
    const sent = await queued();
    expect(sent.length).toBe(answer(response).verdicts.length);
    expect(sent.length).toBeGreaterThan(0);
    for (const m of sent) expect(m.change.source).toBe(source);
  });

  it('takes ?format= over detection, and refuses a body that is not in that format', async () => {
    const response = await post(fixture('cisco-secure-endpoint-single.json'), 'proofpoint-tap');
    expect(response.status).toBe(400);
    expect(answer(response).error.code).toBe('ValidationFailed');
    expect(await queued()).toEqual([]);
  });

  it('answers an empty polling window with 200 and no verdicts, so a poller does not retry it', async () => {
    const empty = {
      queryEndTime: '2026-11-26T10:00:00Z',
      messagesDelivered: [],
      messagesBlocked: [],
      clicksPermitted: [],
      clicksBlocked: [],
    };
    const response = await post(JSON.stringify(empty), 'proofpoint-tap');
    expect(response.status).toBe(200);
    expect(answer(response).verdicts).toEqual([]);
    expect(await queued()).toEqual([]);
  });

  it('refuses an unknown format with 400 naming the known ones', async () => {
    const response = await post(fixture('generic-verdict.json'), 'splunk');
    expect(response.status).toBe(400);
    expect(answer(response).error.details[0]?.path).toBe('format');
  });

  it("still takes Clawback's own shape, detected or named", async () => {
    expect((await post(fixture('generic-verdict.json'))).status).toBe(202);
    expect((await post(fixture('generic-verdict.json'), 'generic')).status).toBe(200);
  });

  it('answers a Graph change notification with a clear problem, not a verdict', async () => {
    const response = await post(fixture('microsoft-graph-change-notification.json'), 'microsoft-defender');
    expect(response.status).toBe(400);
    expect(await queued()).toEqual([]);
  });
});
