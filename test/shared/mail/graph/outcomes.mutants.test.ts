import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../../shared/errors.js';
import { pick, plural, removing } from '../../../../shared/mail/graph/outcomes.js';

describe('removing', () => {
  it('succeeds with the folder, the quarantine location and what was done', async () => {
    let acted = 0;
    const outcome = await removing(
      'Inbox',
      'moved to Deleted Items',
      () => Promise.resolve((acted += 1)),
      'q:1',
    );
    expect(acted).toBe(1);
    expect(outcome).toEqual({
      status: 'succeeded',
      originalFolder: 'Inbox',
      quarantineLocation: 'q:1',
      detail: 'moved to Deleted Items',
    });
  });

  it('counts a copy that vanished meanwhile as already remediated', async () => {
    const outcome = await removing('Inbox', 'deleted', () =>
      Promise.reject(new ClawbackError('MessageNotFound', 'gone')),
    );
    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      originalFolder: 'Inbox',
      detail: 'the message was already gone from the mailbox',
    });
  });

  it('fails on any other error', async () => {
    const denied = new ClawbackError('PermissionError', 'no');
    await expect(removing('Inbox', 'deleted', () => Promise.reject(denied))).rejects.toBe(denied);
    const plain = Object.assign(new Error('odd'), { code: 'MessageNotFound' });
    await expect(removing('Inbox', 'deleted', () => Promise.reject(plain))).rejects.toBe(plain);
  });
});

describe('pick and plural', () => {
  it('picks the i-th entry, else the last, else the inbox', () => {
    expect(pick(['a', 'b', 'c'], 1)).toBe('b');
    expect(pick(['a', 'b'], 5)).toBe('b');
    expect(pick([], 0)).toBe('inbox');
  });

  it('says copy for one and copies otherwise', () => {
    expect([0, 1, 2].map(plural)).toEqual(['copies', 'copy', 'copies']);
  });
});
