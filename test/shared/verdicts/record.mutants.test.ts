import { describe, expect, it } from 'vitest';

import { emptyCounts } from '../../../shared/ports/results.js';
import { acceptedVerdictRecord } from '../../../shared/verdicts/record.js';
import { type VerdictChange, verdictChangeSchema } from '../../../shared/verdicts/schema.js';

const change: VerdictChange = verdictChangeSchema.parse({
  eventId: 'e1',
  source: 'soar',
  verdict: 'malicious',
  previousVerdict: 'clean',
  threat: { sha256: 'a'.repeat(64), filename: 'invoice.pdf.exe', url: 'https://evil.example/x' },
  action: 'moveToJunk',
});

describe('acceptedVerdictRecord', () => {
  it('is the accepted row of the change, with nothing counted yet and the action the source asked for', () => {
    expect(acceptedVerdictRecord('v1', change, '2026-11-30T10:00:00.000Z')).toEqual({
      verdictId: 'v1',
      source: 'soar',
      eventId: 'e1',
      verdict: 'malicious',
      previousVerdict: 'clean',
      sha256: 'a'.repeat(64),
      filename: 'invoice.pdf.exe',
      url: 'https://evil.example/x',
      action: 'moveToJunk',
      mode: undefined,
      status: 'accepted',
      recipients: 0,
      ...emptyCounts(),
      done: 0,
      receivedAt: '2026-11-30T10:00:00.000Z',
    });
  });

  it('records the policy decision over the requested action when there is one', () => {
    const record = acceptedVerdictRecord('v1', change, 't', { action: 'softDelete', mode: 'simulate' });
    expect(record).toMatchObject({ action: 'softDelete', mode: 'simulate' });
  });
});
