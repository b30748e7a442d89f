import type http from 'node:http';

import { type FakeFolder, type FakeMessage, M, T } from './types.js';
import { child, childrenNamed, escapeXmlText as x, type XmlElement } from './xml.js';

/** SOAP envelopes, EWS response messages and the field matching FindItem restrictions use. */
export function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function envelopeOf(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="${T}" xmlns="${T}"/></s:Header>
<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">${body}</s:Body></s:Envelope>`;
}

export function responses(operation: string, messages: string[]): string {
  return `<m:${operation}Response xmlns:m="${M}" xmlns:t="${T}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:${operation}Response>`;
}

export function success(operation: string, inner: string): string {
  return `<m:${operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:${operation}ResponseMessage>`;
}

export const errorTexts: Record<string, string> = {
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorToFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorNonExistentMailbox: 'The SMTP address has no mailbox associated with it.',
  ErrorAccessDenied: 'Access is denied. Check credentials and try again.',
  ErrorFolderExists: 'A folder with the specified name already exists.',
};

export function errorMessage(operation: string, code: string, text?: string): string {
  return `<m:${operation}ResponseMessage ResponseClass="Error"><m:MessageText>${x(text ?? errorTexts[code] ?? code)}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:${operation}ResponseMessage>`;
}

export function folderIdXml(folder: FakeFolder): string {
  return `<t:FolderId Id="${x(folder.id)}" ChangeKey="AQAAAA=="/>`;
}

export function paginate<T>(
  all: T[],
  view: XmlElement | undefined,
): { page: T[]; offset: number; last: boolean } {
  const start = Number(view?.attrs.Offset ?? 0);
  const max = Number(view?.attrs.MaxEntriesReturned ?? 1000);
  const page = all.slice(start, start + max);
  const offset = start + page.length;
  return { page, offset, last: offset >= all.length };
}

export function requestedExtended(shape: XmlElement | undefined): XmlElement[] {
  return childrenNamed(child(shape, 'AdditionalProperties'), 'ExtendedFieldURI');
}

export function extendedKey(uri: XmlElement | undefined): string {
  if (!uri) return '';
  if (uri.attrs.PropertyName) return `name:${uri.attrs.PropertyName}`;
  return `tag:${Number(uri.attrs.PropertyTag ?? NaN)}`;
}

export type Fields = Record<string, string | undefined>;

export function itemFields(item: FakeMessage): Fields {
  const fields: Fields = {
    'item:Subject': item.subject,
    'message:Sender': item.sender,
    'message:From': item.sender,
    'item:DateTimeReceived': item.receivedAt,
    'tag:4149': item.internetMessageId,
  };
  for (const [key, value] of item.extended) fields[key] = value;
  return fields;
}

export function folderFields(folder: FakeFolder): Fields {
  return { 'folder:DisplayName': folder.name, 'folder:FolderClass': folder.folderClass };
}

/** Evaluates an EWS restriction (And, Or, Not, IsEqualTo, comparisons, Contains) against one object. */
export function matches(node: XmlElement, fields: Fields): boolean {
  const operands = node.children;
  switch (node.local) {
    case 'And':
      return operands.every((o) => matches(o, fields));
    case 'Or':
      return operands.some((o) => matches(o, fields));
    case 'Not':
      return !operands.every((o) => matches(o, fields));
    case 'Contains': {
      const value = fieldValue(operands[0], fields) ?? '';
      const constant = child(node, 'Constant')?.attrs.Value ?? '';
      return value.toLowerCase().includes(constant.toLowerCase());
    }
    default: {
      const value = fieldValue(operands[0], fields);
      const constant = child(child(node, 'FieldURIOrConstant'), 'Constant')?.attrs.Value;
      if (value === undefined || constant === undefined) return false;
      const isDate = operands[0]?.attrs.FieldURI === 'item:DateTimeReceived';
      const compare = isDate ? Date.parse(value) - Date.parse(constant) : value.localeCompare(constant);
      switch (node.local) {
        case 'IsEqualTo':
          return isDate
            ? compare === 0
            : value === constant ||
                (operands[0]?.attrs.FieldURI === 'message:Sender' &&
                  value.toLowerCase() === constant.toLowerCase());
        case 'IsNotEqualTo':
          return value !== constant;
        case 'IsGreaterThan':
          return compare > 0;
        case 'IsGreaterThanOrEqualTo':
          return compare >= 0;
        case 'IsLessThan':
          return compare < 0;
        case 'IsLessThanOrEqualTo':
          return compare <= 0;
        default:
          return false;
      }
    }
  }
}

export function fieldValue(uri: XmlElement | undefined, fields: Fields): string | undefined {
  if (!uri) return undefined;
  if (uri.local === 'ExtendedFieldURI') return fields[extendedKey(uri)];
  return fields[uri.attrs.FieldURI ?? ''];
}

export function mimeHeaders(mime: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of mime.split(/\r?\n/)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
  }
  return headers;
}

/** Names of the MIME headers of an item, in order, for tests that check the quarantine header. */
export function mimeHeaderLines(mime: string): string[] {
  const end = mime.search(/\r?\n\r?\n/);
  return (end < 0 ? mime : mime.slice(0, end)).split(/\r?\n/);
}
