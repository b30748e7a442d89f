import { describe, expect, it } from 'vitest';

import {
  encodeQueryValue,
  fallbackFilter,
  messageIdFilter,
  messageSearchQuery,
  odataString,
  userPath,
} from '../../../../shared/mail/graph/odata.js';

const awkwardIds = [
  '<CAF+abc/def==@mail.example.com>',
  "<o'brien's.note@example.com>",
  '<100%real&true@example.com>',
  '<grüße.日本@例え.jp>',
  '<a=b;c?d#e@example.com>',
  '<(x)!*~@example.com>',
];

describe('Graph message-id filter encoding', () => {
  it('doubles single quotes inside the OData string literal', () => {
    expect(odataString("o'brien's")).toBe("'o''brien''s'");
    expect(messageIdFilter("<o'b@x>")).toBe("internetMessageId eq '<o''b@x>'");
  });

  it.each(awkwardIds)('a server decoding the query sees exactly the filter for %s', (id) => {
    const query = messageSearchQuery(messageIdFilter(id));
    expect(new URLSearchParams(query).get('$filter')).toBe(
      `internetMessageId eq '${id.replace(/'/g, "''")}'`,
    );
  });

  it('sends + as %2B, so Graph does not read it as a space', () => {
    expect(encodeQueryValue('<a+b@x>')).toBe('%3Ca%2Bb%40x%3E');
  });

  it("percent-encodes the characters encodeURIComponent leaves alone, including '", () => {
    expect(encodeQueryValue("'!()*")).toBe('%27%21%28%29%2A');
    expect(encodeQueryValue('<100%&a/b@x>')).toBe('%3C100%25%26a%2Fb%40x%3E');
  });

  it('encodes non-ASCII characters as UTF-8 percent escapes', () => {
    expect(encodeQueryValue('ü日')).toBe('%C3%BC%E6%97%A5');
  });

  it('leaves only unreserved characters unescaped in the query value', () => {
    const query = messageSearchQuery(messageIdFilter(awkwardIds.join('')));
    const filterValue = query.split('&')[0]?.slice('$filter='.length) ?? '';
    expect(filterValue).toMatch(/^[A-Za-z0-9\-._~%]+$/);
  });

  it('selects the fields a remediation needs and asks for pages of 1,000', () => {
    const params = new URLSearchParams(messageSearchQuery("internetMessageId eq '<a@b>'"));
    expect(params.get('$select')).toBe('id,internetMessageId,parentFolderId,isRead,receivedDateTime');
    expect(params.get('$top')).toBe('1000');
  });

  it('encodes the mailbox as one path segment', () => {
    expect(userPath('first.last+tag@contoso.com')).toBe('/users/first.last%2Btag%40contoso.com');
  });

  it('builds the fallback filter from sender, subject and a day either side of the received time', () => {
    const filter = fallbackFilter({
      sender: 'eve@evil.example',
      subject: "Invoice 'Q3'",
      receivedAt: new Date('2026-03-10T12:00:00Z'),
    });
    expect(filter).toBe(
      "receivedDateTime ge 2026-03-09T12:00:00.000Z and receivedDateTime le 2026-03-11T12:00:00.000Z and from/emailAddress/address eq 'eve@evil.example' and subject eq 'Invoice ''Q3'''",
    );
  });
});
