import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { success } from '../../../../local/onprem/soap.js';
import { EwsClient } from '../../../../shared/mail/ews/client.js';
import {
  addressesIn,
  type EwsSentItems,
  ewsSentItems,
  findDerivedEwsMessages,
} from '../../../../shared/mail/ews/derived.js';
import { EwsItems } from '../../../../shared/mail/ews/items.js';
import { attachmentHashes, parseHeaders } from '../../../../shared/mail/mime.js';
import type { FakeEwsServer } from '../../../fakes/ewsServer.js';
import { anySecret, ewsDepsWith, ewsProfileFor, startEwsFake } from '../../../support/ewsBackend.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('parseHeaders', () => {
  it('stops at the first blank line (CRLF) and unfolds continuation lines', () => {
    const mime = 'Subject: one\r\n two\r\n\tthree\r\nX-A: 1\r\n\r\nBody: no\r\n';
    const h = parseHeaders(mime);
    expect(h.get('subject')).toBe('one two three');
    expect(h.get('x-a')).toBe('1');
    expect(h.has('body')).toBe(false);
    expect([...h.keys()]).toEqual(['subject', 'x-a']);
  });

  it('stops at a blank line written with bare LF, and at mixed CRLF/LF blank lines', () => {
    expect(parseHeaders('A: 1\n\nB: 2').has('b')).toBe(false);
    expect(parseHeaders('A: 1\r\n\nB: 2').has('b')).toBe(false);
    expect(parseHeaders('A: 1\n\r\nB: 2').has('b')).toBe(false);
  });

  it('reads the whole text when there is no blank line', () => {
    const h = parseHeaders('A: 1\nB: 2');
    expect(h.get('a')).toBe('1');
    expect(h.get('b')).toBe('2');
  });

  it('unfolds LF continuation lines with several blanks into one space', () => {
    expect(parseHeaders('A: x\n   y\n\nbody').get('a')).toBe('x y');
  });

  it('splits on bare LF lines', () => {
    const h = parseHeaders('A: 1\nB: 2\n\n');
    expect(h.get('a')).toBe('1');
    expect(h.get('b')).toBe('2');
  });

  it('skips lines without a name before the colon, lower-cases and trims names', () => {
    const h = parseHeaders(': nameless\r\nno colon here\r\nMessage-ID : <m@x>\r\n\r\n');
    expect(h.has('')).toBe(false);
    expect([...h.keys()]).toEqual(['message-id']);
    expect(h.get('message-id')).toBe('<m@x>');
  });

  it('joins repeated headers with a comma', () => {
    const h = parseHeaders('To: a@x.com\r\nTo: b@x.com\r\nto: c@x.com\r\n\r\n');
    expect(h.get('to')).toBe('a@x.com, b@x.com, c@x.com');
  });
});

describe('addressesIn', () => {
  it('is empty for no value', () => {
    expect(addressesIn(undefined)).toEqual([]);
    expect(addressesIn('')).toEqual([]);
  });

  it('lists the addresses in lower case', () => {
    expect(addressesIn('"Bob" <Bob@Contoso.com>, CAROL@contoso.com; dave@x.org')).toEqual([
      'bob@contoso.com',
      'carol@contoso.com',
      'dave@x.org',
    ]);
  });
});

const attachment = Buffer.from('malicious payload bytes, long enough to wrap\n', 'utf8');
const attachmentB64 = attachment.toString('base64');
const other = Buffer.from('second attachment');

function multipart(boundary: string, quoted: boolean, nl = '\r\n'): string {
  const b64a = `${attachmentB64.slice(0, 20)}${nl}${attachmentB64.slice(20)}`;
  return [
    `Content-Type: multipart/mixed; boundary=${quoted ? `"${boundary}"` : boundary}`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    'hello',
    `--${boundary}`,
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: BASE64',
    '',
    b64a,
    `--${boundary}`,
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    other.toString('base64'),
    `--${boundary}--`,
    '',
  ].join(nl);
}

describe('attachmentHashes', () => {
  it('is empty without a boundary', () => {
    expect(attachmentHashes('Content-Type: text/plain\r\n\r\nhello')).toEqual([]);
  });

  it('hashes each base64 part (quoted boundary, CRLF), skipping non-base64 parts', () => {
    expect(attachmentHashes(multipart('b1-xyz', true))).toEqual([sha(attachment), sha(other)]);
  });

  it('hashes each base64 part (unquoted boundary, LF)', () => {
    expect(attachmentHashes(multipart('simple', false, '\n'))).toEqual([sha(attachment), sha(other)]);
  });

  it('handles mixed CRLF/LF blank lines between part headers and body', () => {
    const mime = `Content-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\nContent-Transfer-Encoding: base64\r\n\n${other.toString('base64')}\r\n--q\nContent-Transfer-Encoding: base64\n\r\n${attachmentB64}\n--q--\n`;
    expect(attachmentHashes(mime)).toEqual([sha(other), sha(attachment)]);
  });

  it('splits on the whole boundary, not on its first character', () => {
    const mime = `Content-Type: multipart/mixed; boundary="Bnd123"\r\n\r\n--Bnd123\r\nContent-Type: text/plain\r\n\r\n--Bfoo\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--Bnd123\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachmentB64}\r\n--Bnd123--\r\n`;
    expect(attachmentHashes(mime)).toEqual([sha(attachment)]);
  });

  it('finds no parts without a boundary, even in text that mentions "--undefined"', () => {
    const mime =
      'Content-Type: text/plain\r\n\r\n--undefined\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n';
    expect(attachmentHashes(mime)).toEqual([]);
  });

  it('ignores blank lines inside and after a base64 body', () => {
    const half = Math.floor(attachmentB64.length / 8) * 4;
    const mime = `Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Transfer-Encoding: base64\n\n${attachmentB64.slice(0, half)}\n\n${attachmentB64.slice(half)}\n\n\n--q--\n`;
    expect(attachmentHashes(mime)).toEqual([sha(attachment)]);
  });

  it('hashes a message that is itself one base64 entity (the file sent as the whole message)', () => {
    const mime = `Message-ID: <x@y>\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachmentB64.slice(0, 16)}\r\n${attachmentB64.slice(16)}\r\n`;
    expect(attachmentHashes(mime)).toEqual([sha(attachment)]);
  });

  it('opens a forward as attachment (message/rfc822) and multiparts nested in multiparts', () => {
    const inner = multipart('inner-b', true);
    const mime = [
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=alt',
      '',
      '--alt',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--alt--',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      `Message-ID: <orig@x>\r\n${inner}`,
      '--outer--',
      '',
    ].join('\r\n');
    expect(attachmentHashes(mime)).toEqual([sha(attachment), sha(other)]);
  });

  it('is empty for a multipart without a boundary, and for a message/rfc822 with nothing encoded', () => {
    expect(
      attachmentHashes(
        'Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n',
      ),
    ).toEqual([]);
    expect(attachmentHashes('Content-Type: message/rfc822\r\n\r\nSubject: hi\r\n\r\nplain')).toEqual([]);
  });

  it('opens eight levels of nesting and no more (a hostile MIME cannot recurse without end)', () => {
    const leaf = `Content-Transfer-Encoding: base64\r\n\r\n${attachmentB64}`;
    const nest = (levels: number, kind: 'multipart' | 'message'): string => {
      let mime = leaf;
      for (let i = 0; i < levels; i += 1)
        mime =
          kind === 'multipart'
            ? `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${mime}\r\n--b${i}--\r\n`
            : `Content-Type: message/rfc822\r\n\r\n${mime}`;
      return mime;
    };
    for (const kind of ['multipart', 'message'] as const) {
      expect(attachmentHashes(nest(8, kind))).toEqual([sha(attachment)]);
      expect(attachmentHashes(nest(9, kind))).toEqual([]);
    }
  });

  it('reads the part header even when it starts right after the boundary line', () => {
    const mime = `Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Transfer-Encoding: base64\n\n${attachmentB64}\n--z--`;
    expect(attachmentHashes(mime)).toEqual([sha(attachment)]);
  });
});

interface Sent {
  id: string;
  mime: string | undefined;
}

function scripted(pages: Sent[][]): EwsSentItems & {
  finds: { mailbox: string; since: Date | undefined; offset: number }[];
  reads: string[];
} {
  const all = pages.flat();
  const offsets: number[] = [];
  let acc = 0;
  for (const p of pages) {
    offsets.push(acc);
    acc += p.length;
  }
  const finds: { mailbox: string; since: Date | undefined; offset: number }[] = [];
  const reads: string[] = [];
  return {
    finds,
    reads,
    findSent(mailbox, since, offset) {
      finds.push({ mailbox, since, offset });
      const index = offsets.indexOf(offset);
      const page = pages[index] ?? [];
      return Promise.resolve({
        ids: page.map((s) => s.id),
        nextOffset: index + 1 < pages.length ? offsets[index + 1] : undefined,
      });
    },
    mimeOf(_mailbox, itemId) {
      reads.push(itemId);
      return Promise.resolve(all.find((s) => s.id === itemId)?.mime);
    },
  };
}

const originalId = '<orig-1@contoso.com>';

function forward(n: number, extra: string): string {
  return `Message-ID: <fwd-${n}@contoso.com>\r\nDate: Mon, 1 Jan 2024 10:0${n % 10}:00 +0000\r\nTo: "Bob" <Bob@Contoso.com>\r\nCc: carol@contoso.com\r\nBcc: dave@contoso.com\r\n${extra}\r\n\r\nbody`;
}

const unrelated = (n: number): string => `Message-ID: <other-${n}@x>\r\nTo: a@x\r\n\r\nbody`;

describe('findDerivedEwsMessages', () => {
  it('finds forwards by References and by In-Reply-To, with recipients and date', async () => {
    const sent = scripted([
      [
        { id: 'a', mime: forward(1, `References: <zzz@x> ${originalId}`) },
        { id: 'b', mime: forward(2, `In-Reply-To: ${originalId}`) },
      ],
    ]);
    const found = await findDerivedEwsMessages(sent, 'alice@contoso.com', {
      internetMessageId: originalId,
      deliveredAt: '2024-01-01T09:00:00Z',
      limit: 10,
    });
    expect(found).toEqual([
      {
        internetMessageId: '<fwd-1@contoso.com>',
        sentAt: 'Mon, 1 Jan 2024 10:01:00 +0000',
        recipients: ['bob@contoso.com', 'carol@contoso.com', 'dave@contoso.com'],
        matchedBy: 'references',
      },
      {
        internetMessageId: '<fwd-2@contoso.com>',
        sentAt: 'Mon, 1 Jan 2024 10:02:00 +0000',
        recipients: ['bob@contoso.com', 'carol@contoso.com', 'dave@contoso.com'],
        matchedBy: 'references',
      },
    ]);
    expect(sent.finds).toEqual([
      { mailbox: 'alice@contoso.com', since: new Date('2024-01-01T09:00:00Z'), offset: 0 },
    ]);
  });

  it('leaves sentAt undefined when there is no Date header', async () => {
    const sent = scripted([[{ id: 'a', mime: `Message-ID: <f@x>\r\nReferences: ${originalId}\r\n\r\n` }]]);
    const found = await findDerivedEwsMessages(sent, 'm', { internetMessageId: originalId, limit: 5 });
    expect(found).toEqual([
      { internetMessageId: '<f@x>', sentAt: undefined, recipients: [], matchedBy: 'references' },
    ]);
    expect(sent.finds[0]?.since).toBeUndefined();
  });

  it('does not match a message whose only thread text is "undefined"-like filler', async () => {
    // The copy id must not be found in an empty References/In-Reply-To.
    const sent = scripted([[{ id: 'a', mime: 'Message-ID: <f@x>\r\n\r\n' }]]);
    expect(await findDerivedEwsMessages(sent, 'm', { internetMessageId: 'Stryker', limit: 5 })).toEqual([]);
    expect(await findDerivedEwsMessages(sent, 'm', { internetMessageId: 'undefined', limit: 5 })).toEqual([]);
  });

  it('skips the copy itself, messages without id and items that are gone', async () => {
    const sent = scripted([
      [
        { id: 'self', mime: `Message-ID: ${originalId}\r\nReferences: ${originalId}\r\n\r\n` },
        { id: 'noid', mime: `References: ${originalId}\r\n\r\n` },
        { id: 'gone', mime: undefined },
        { id: 'ok', mime: forward(3, `References: ${originalId}`) },
      ],
    ]);
    const found = await findDerivedEwsMessages(sent, 'm', { internetMessageId: originalId, limit: 5 });
    expect(found.map((f) => f.internetMessageId)).toEqual(['<fwd-3@contoso.com>']);
    expect(sent.reads).toEqual(['self', 'noid', 'gone', 'ok']);
  });

  it('matches by attachment hash, case-insensitively, only when a hash is given', async () => {
    const mime = `Message-ID: <att@x>\r\nTo: z@x.com\r\n${multipart('bb', true)}`;
    const sent = scripted([[{ id: 'a', mime }]]);
    const hit = await findDerivedEwsMessages(sent, 'm', {
      internetMessageId: originalId,
      sha256: sha(attachment).toUpperCase(),
      limit: 5,
    });
    expect(hit).toEqual([
      { internetMessageId: '<att@x>', sentAt: undefined, recipients: ['z@x.com'], matchedBy: 'attachment' },
    ]);
    expect(
      await findDerivedEwsMessages(sent, 'm', {
        internetMessageId: originalId,
        sha256: 'ab'.repeat(32),
        limit: 5,
      }),
    ).toEqual([]);
    expect(await findDerivedEwsMessages(sent, 'm', { internetMessageId: originalId, limit: 5 })).toEqual([]);
  });

  it('follows pages until the last one', async () => {
    const sent = scripted([
      [
        { id: 'a', mime: unrelated(1) },
        { id: 'b', mime: unrelated(2) },
      ],
      [{ id: 'c', mime: forward(4, `References: ${originalId}`) }],
    ]);
    const found = await findDerivedEwsMessages(sent, 'm', { internetMessageId: originalId, limit: 5 });
    expect(found).toHaveLength(1);
    expect(sent.finds.map((f) => f.offset)).toEqual([0, 2]);
    expect(sent.reads).toEqual(['a', 'b', 'c']);
  });

  it('stops reading once the limit is reached, within a page and across pages', async () => {
    const sent = scripted([
      [
        { id: 'a', mime: forward(1, `References: ${originalId}`) },
        { id: 'b', mime: forward(2, `References: ${originalId}`) },
        { id: 'c', mime: forward(3, `References: ${originalId}`) },
      ],
      [{ id: 'd', mime: forward(4, `References: ${originalId}`) }],
    ]);
    const two = await findDerivedEwsMessages(sent, 'm', { internetMessageId: originalId, limit: 2 });
    expect(two).toHaveLength(2);
    expect(sent.reads).toEqual(['a', 'b']);
    expect(sent.finds).toHaveLength(1);

    const again = scripted([
      [
        { id: 'a', mime: forward(1, `References: ${originalId}`) },
        { id: 'b', mime: forward(2, `References: ${originalId}`) },
      ],
      [{ id: 'd', mime: forward(4, `References: ${originalId}`) }],
    ]);
    const exact = await findDerivedEwsMessages(again, 'm', { internetMessageId: originalId, limit: 2 });
    expect(exact).toHaveLength(2);
    expect(again.finds).toHaveLength(1);
    expect(again.reads).toEqual(['a', 'b']);
  });

  it('reads at most 100 Sent Items messages, within a page and across pages', async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ id: `i${i}`, mime: unrelated(i) }));
    const onePage = scripted([many]);
    expect(await findDerivedEwsMessages(onePage, 'm', { internetMessageId: originalId, limit: 5 })).toEqual(
      [],
    );
    expect(onePage.reads).toHaveLength(100);
    expect(onePage.reads.at(-1)).toBe('i99');

    const pages = scripted([many.slice(0, 50), many.slice(50, 100), many.slice(100)]);
    await findDerivedEwsMessages(pages, 'm', { internetMessageId: originalId, limit: 5 });
    expect(pages.reads).toHaveLength(100);
    expect(pages.finds.map((f) => f.offset)).toEqual([0, 50]);
  });
});

const alice = 'alice@contoso.com';

async function sentItemsOn(): Promise<{ fake: FakeEwsServer; sent: EwsSentItems; log: string[] }> {
  const fake = await startEwsFake(alice);
  const log: string[] = [];
  const client = new EwsClient(
    ewsProfileFor(fake.url),
    ewsDepsWith({ secrets: anySecret, log: (line) => log.push(line) }),
  );
  return { fake, sent: ewsSentItems(client, new EwsItems(client)), log };
}

describe('ewsSentItems against the fake Exchange', () => {
  it('pages through Sent Items: a next offset while more are available, none on the last page', async () => {
    const { fake, sent } = await sentItemsOn();
    for (let i = 0; i < 201; i++)
      fake.addMessage(alice, { internetMessageId: `<s${i}@x>`, folder: 'sentitems' });
    fake.addMessage(alice, { internetMessageId: '<inbox@x>' });

    const first = await sent.findSent(alice, undefined, 0);
    expect(first.ids).toHaveLength(200);
    expect(first.nextOffset).toBe(200);
    const last = await sent.findSent(alice, undefined, 200);
    expect(last.ids).toHaveLength(1);
    expect(last.nextOffset).toBeUndefined();

    const finds = fake.requests.filter((r) => r.operation === 'FindItem');
    expect(finds).toHaveLength(2);
    expect(finds[0]?.body).toContain('Id="sentitems"');
    expect(finds[0]?.body).not.toContain('Restriction');
    expect(finds[1]?.body).toContain('Offset="200"');
  });

  it('restricts to messages received since the copy arrived', async () => {
    const { fake, sent } = await sentItemsOn();
    const before = fake.addMessage(alice, {
      internetMessageId: '<old@x>',
      folder: 'sentitems',
      receivedAt: '2024-01-01T08:00:00Z',
    });
    const after = fake.addMessage(alice, {
      internetMessageId: '<new@x>',
      folder: 'sentitems',
      receivedAt: '2024-01-01T10:00:00Z',
    });
    const page = await sent.findSent(alice, new Date('2024-01-01T09:00:00Z'), 0);
    expect(page).toEqual({ ids: [after], nextOffset: undefined });
    expect(page.ids).not.toContain(before);
    const body = fake.requests.find((r) => r.operation === 'FindItem')?.body ?? '';
    expect(body).toContain('IsGreaterThanOrEqualTo');
    expect(body).toContain('item:DateTimeReceived');
  });

  it('names FindItem and GetItem when it retries them', async () => {
    const { fake, sent, log } = await sentItemsOn();
    const id = fake.addMessage(alice, {
      internetMessageId: '<m@x>',
      folder: 'sentitems',
      mime: 'Message-ID: <m@x>\r\n\r\nhi',
    });
    fake.fail('FindItem', { kind: 'serverBusy', backOffMs: 1 });
    fake.fail('GetItem', { kind: 'serverBusy', backOffMs: 1 });
    expect((await sent.findSent(alice, undefined, 0)).ids).toEqual([id]);
    expect(await sent.mimeOf(alice, id)).toContain('Message-ID: <m@x>');
    expect(log.some((l) => l.startsWith('ews FindItem on'))).toBe(true);
    expect(log.some((l) => l.startsWith('ews GetItem on'))).toBe(true);
  });

  it('reads an item as MIME text, and undefined for an item that is gone', async () => {
    const { fake, sent } = await sentItemsOn();
    const id = fake.addMessage(alice, {
      internetMessageId: '<m@x>',
      folder: 'sentitems',
      mime: 'Message-ID: <m@x>\r\nTo: b@x\r\n\r\nhi',
    });
    expect(await sent.mimeOf(alice, id)).toBe('Message-ID: <m@x>\r\nTo: b@x\r\n\r\nhi');
    expect(await sent.mimeOf(alice, `${id}gone`)).toBeUndefined();
    expect(fake.requests.filter((r) => r.operation === 'GetItem')).toHaveLength(2);
  });

  it('does not swallow other GetItem failures', async () => {
    const { fake, sent } = await sentItemsOn();
    const id = fake.addMessage(alice, { internetMessageId: '<m@x>', folder: 'sentitems' });
    fake.fail('GetItem', { kind: 'responseError', code: 'ErrorAccessDenied' }, 5);
    await expect(sent.mimeOf(alice, id)).rejects.toMatchObject({ name: 'ClawbackError' });
  });
});

/** A FindItem page of Sent Items as Exchange writes it; `offset` undefined leaves IndexedPagingOffset out. */
function sentPage(ids: string[], more: boolean, offset?: number): string {
  const paging = offset === undefined ? '' : ` IndexedPagingOffset="${offset}"`;
  const items = ids.map((id) => `<t:Message><t:ItemId Id="${id}" ChangeKey="CK1"/></t:Message>`).join('');
  return success(
    'FindItem',
    `<m:RootFolder${paging} TotalItemsInView="50" IncludesLastItemInRange="${!more}"><t:Items>${items}</t:Items></m:RootFolder>`,
  );
}

describe('ewsSentItems paging on page shapes the fake store never builds', () => {
  it('gives no next offset for an empty page, even one that says more items are available', async () => {
    const { fake, sent } = await sentItemsOn();
    fake.fail('FindItem', { kind: 'answer', message: sentPage([], true, 5) });

    expect(await sent.findSent(alice, undefined, 5)).toEqual({ ids: [], nextOffset: undefined });
    expect(fake.requests.filter((r) => r.operation === 'FindItem')).toHaveLength(1);
  });

  it('continues at offset + items when the server leaves out IndexedPagingOffset', async () => {
    const { fake, sent } = await sentItemsOn();
    fake.fail('FindItem', { kind: 'answer', message: sentPage(['s1', 's2'], true) });

    expect(await sent.findSent(alice, undefined, 10)).toEqual({ ids: ['s1', 's2'], nextOffset: 12 });
    expect(fake.requests.find((r) => r.operation === 'FindItem')?.body).toContain('Offset="10"');
  });
});
