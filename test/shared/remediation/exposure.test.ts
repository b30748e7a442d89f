import { describe, expect, it } from 'vitest';

import { exposureOf, median } from '../../../shared/remediation/exposure.js';

const item = (deliveredAt?: string) => ({
  id: 'x',
  internetMessageId: '<m@x>',
  folderId: 'inbox',
  deliveredAt,
});

describe('exposure of a copy', () => {
  it('runs from the earliest delivery of the copies to their removal', () => {
    const removed = new Date('2026-11-30T10:00:00Z');
    expect(
      exposureOf(
        [item('2026-11-30T09:00:00Z'), item('2026-11-30T08:00:00Z')],
        'quarantine',
        'succeeded',
        removed,
      ),
    ).toEqual({ deliveredAt: '2026-11-30T08:00:00.000Z', exposureSeconds: 7200 });
  });

  it('records only the delivery when nothing was removed: simulated, found only, forwarded, already gone', () => {
    const at = new Date('2026-11-30T10:00:00Z');
    const copies = [item('2026-11-30T09:00:00Z')];
    const delivered = { deliveredAt: '2026-11-30T09:00:00.000Z' };
    expect(exposureOf(copies, 'quarantine', 'simulated', at)).toEqual(delivered);
    expect(exposureOf(copies, 'none', 'succeeded', at)).toEqual(delivered);
    expect(exposureOf(copies, 'forward', 'succeeded', at)).toEqual(delivered);
    expect(exposureOf(copies, 'hardDelete', 'alreadyRemediated', at)).toEqual(delivered);
    expect(exposureOf([item(undefined)], 'hardDelete', 'succeeded', at)).toEqual({});
  });

  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([])).toBeUndefined();
    expect(median([30, 10, 20])).toBe(20);
    expect(median([40, 10, 20, 30])).toBe(25);
  });
});
