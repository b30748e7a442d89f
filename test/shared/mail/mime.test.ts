import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { attachmentHashes, parseHeaders } from '../../../shared/mail/mime.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const dropper = Buffer.from('MZ not really a dropper');
const benign = Buffer.from('minutes of the meeting');

/** A message carrying `file` as a base64 part, as Exchange serialises an item attachment's `$value`. */
function carrying(file: Buffer, messageId: string, boundary: string): string {
  return [
    'From: alice@contoso.com',
    'To: bob@contoso.com',
    'Subject: FW: Quarterly bonus',
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed;\r\n\tboundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="us-ascii"',
    '',
    'See attached.',
    '',
    `--${boundary}`,
    'Content-Type: application/vnd.ms-excel.sheet.macroEnabled.12; name="bonus.xlsm"',
    'Content-Disposition: attachment; filename="bonus.xlsm"',
    'Content-Transfer-Encoding: base64',
    '',
    file.toString('base64'),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** `inner` attached to a new message as `message/rfc822` (a forward as attachment). */
function forwardingAsAttachment(inner: string, messageId: string, boundary: string): string {
  return [
    `Message-ID: ${messageId}`,
    'Subject: FW: FW: Quarterly bonus',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    'FYI',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: attachment',
    '',
    inner,
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

describe('attachmentHashes (shared by the EWS and Graph backends)', () => {
  it('hashes the file an item attachment’s MIME carries, with a folded Content-Type header', () => {
    expect(attachmentHashes(carrying(dropper, '<fw-1@contoso.com>', '_000_abc_'))).toEqual([sha(dropper)]);
  });

  it('finds the file in a forward of a forward as attachment, two attached messages deep', () => {
    const first = carrying(dropper, '<fw-1@contoso.com>', '_000_one_');
    const second = forwardingAsAttachment(first, '<fw-2@contoso.com>', '_000_two_');
    const third = forwardingAsAttachment(second, '<fw-3@contoso.com>', '_000_three_');
    expect(attachmentHashes(second)).toEqual([sha(dropper)]);
    expect(attachmentHashes(third)).toEqual([sha(dropper)]);
  });

  it('gives the hash of the file that is there, not of another one', () => {
    const mime = forwardingAsAttachment(carrying(benign, '<a@x>', 'in'), '<b@x>', 'out');
    expect(attachmentHashes(mime)).toEqual([sha(benign)]);
    expect(attachmentHashes(mime)).not.toContain(sha(dropper));
  });

  it('gives lower-case hex', () => {
    for (const hash of attachmentHashes(carrying(dropper, '<a@x>', 'b')))
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds nothing in a contact or an event attached as an item (vCard, iCal: no MIME entities)', () => {
    expect(attachmentHashes('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alex Wilbur\r\nEND:VCARD\r\n')).toEqual([]);
    expect(attachmentHashes('BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n')).toEqual([]);
  });
});

describe('parseHeaders', () => {
  it('reads the top-level headers of an attached message, not those of its parts', () => {
    const headers = parseHeaders(carrying(dropper, '<fw-1@contoso.com>', 'b'));
    expect(headers.get('message-id')).toBe('<fw-1@contoso.com>');
    expect(headers.get('content-type')).toBe('multipart/mixed; boundary="b"');
    expect(headers.has('content-disposition')).toBe(false);
  });
});

describe('attachmentHashes: what opens an entity is the start of its Content-Type', () => {
  /** One base64 entity whose Content-Type is `type`. */
  const entity = (type: string, file: Buffer) =>
    [`Content-Type: ${type}`, 'Content-Transfer-Encoding: base64', '', file.toString('base64'), ''].join(
      '\r\n',
    );

  it('hashes a file whose type merely mentions multipart/ or message/rfc822 later on', () => {
    for (const type of [
      'application/octet-stream; name="multipart/bonus.xlsm"',
      'application/x-multipart/report',
      'application/octet-stream; name="message/rfc822.eml"',
      'application/x-message/rfc822',
    ])
      expect(attachmentHashes(entity(type, dropper)), type).toEqual([sha(dropper)]);
  });

  it('opens a multipart or an attached message whose type has spaces before it', () => {
    const inner = entity('application/octet-stream', dropper);
    const multipart = [
      'Content-Type:   multipart/mixed; boundary="b1"',
      '',
      '--b1',
      inner,
      '--b1--',
      '',
    ].join('\r\n');
    expect(attachmentHashes(multipart)).toEqual([sha(dropper)]);
    const attached = ['Content-Type:   message/rfc822', '', inner].join('\r\n');
    expect(attachmentHashes(attached)).toEqual([sha(dropper)]);
  });
});

describe('attachmentHashes: an entity without a body', () => {
  it('carries no file: headers that say base64 and then end give no hash (not the hash of nothing)', () => {
    expect(
      attachmentHashes('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64'),
    ).toEqual([]);
    expect(
      attachmentHashes('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
    ).toEqual([sha(Buffer.alloc(0))]);
  });
});

describe('attachmentHashes: an entity’s headers end at its first blank line', () => {
  it('does not read a header-like line of the body as a header', () => {
    const text = [
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: 7bit',
      '',
      'Content-Transfer-Encoding: base64',
      dropper.toString('base64'),
      '',
    ].join('\r\n');
    expect(attachmentHashes(text)).toEqual([]);
  });
});
