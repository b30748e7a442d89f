import { describe, expect, it } from 'vitest';

import { ewsBackendFor, startEwsFake } from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';

async function setup(fallbackSearch: boolean) {
  const fake = await startEwsFake(alice);
  const backend = ewsBackendFor(fake, { fallbackSearch });
  return { fake, backend };
}

describe('EwsSearch fallback against the fake Exchange', () => {
  it('does not claim a fallback when the sender and subject find nothing either', async () => {
    const { fake, backend } = await setup(true);
    fake.addMessage(alice, { internetMessageId: '<other@x>', subject: 'Hello', sender: 'bob@x.com' });
    const found = await backend.findMessages(alice, {
      internetMessageId: '<missing@x>',
      sender: 'attacker@evil.example',
      subject: 'Invoice 42',
    });
    expect(found).toEqual({ items: [], usedFallback: false });
  });

  it('finds by sender alone, without a subject restriction', async () => {
    const { fake, backend } = await setup(true);
    fake.addMessage(alice, {
      internetMessageId: '<rewritten@x>',
      subject: 'Anything',
      sender: 'attacker@evil.example',
    });
    const found = await backend.findMessages(alice, {
      internetMessageId: '<missing@x>',
      sender: 'attacker@evil.example',
    });
    expect(found.usedFallback).toBe(true);
    expect(found.items).toHaveLength(1);
    const finds = fake.requests.filter((r) => r.operation === 'FindItem');
    expect(finds.at(-1)?.body).toContain('message:Sender');
    expect(finds.at(-1)?.body).not.toContain('item:Subject');
    expect(finds.at(-1)?.body).not.toContain('IsGreaterThanOrEqualTo');
  });

  it('does not search again when fallback search is off', async () => {
    const { fake, backend } = await setup(false);
    fake.addMessage(alice, { internetMessageId: '<rewritten@x>', sender: 'attacker@evil.example' });
    const found = await backend.findMessages(alice, {
      internetMessageId: '<missing@x>',
      sender: 'attacker@evil.example',
    });
    expect(found).toEqual({ items: [], usedFallback: false });
    expect(fake.requests.some((r) => r.body.includes('message:Sender'))).toBe(false);
  });

  it('does not search again when there is neither sender nor subject', async () => {
    const { fake, backend } = await setup(true);
    fake.addMessage(alice, { internetMessageId: '<other@x>' });
    const found = await backend.findMessages(alice, { internetMessageId: '<missing@x>' });
    expect(found).toEqual({ items: [], usedFallback: false });
    const finds = fake.requests.filter((r) => r.operation === 'FindItem');
    expect(finds.every((r) => r.body.includes('PropertyTag="4149"'))).toBe(true);
  });
});
