import { isNamedError } from '../../shared/errors.js';

/**
 * A strict, small XML parser for the fake EWS server. @xmldom/xmldom (the library's parser) accepts a
 * raw `<` inside an attribute and a bare `&`, which is exactly the malformation the adapter must never
 * send, so the fake refuses anything that is not well-formed the way Exchange does.
 */
export interface XmlElement {
  /** Qualified name as written, e.g. `t:ItemId`. */
  name: string;
  /** Name without the prefix, e.g. `ItemId`. */
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated, decoded character data directly inside this element. */
  text: string;
}

export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

export const isXmlSyntaxError = isNamedError<XmlSyntaxError>('XmlSyntaxError');

const nameChar = /[A-Za-z0-9_.:-]/;
const entity = /^&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;

export function parseXml(source: string): XmlElement {
  let pos = 0;
  const fail = (why: string): never => {
    throw new XmlSyntaxError(`${why} at offset ${pos}`);
  };
  const decode = (raw: string, inAttribute: boolean): string => {
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c === '<') fail(inAttribute ? 'raw "<" in an attribute value' : 'raw "<" in text');
      if (c !== '&') {
        out += c;
        continue;
      }
      const m = entity.exec(raw.slice(i));
      if (!m?.[1]) return fail('bare "&" (not an entity reference)');
      const ref = m[1];
      out +=
        ref === 'lt'
          ? '<'
          : ref === 'gt'
            ? '>'
            : ref === 'amp'
              ? '&'
              : ref === 'quot'
                ? '"'
                : ref === 'apos'
                  ? "'"
                  : String.fromCodePoint(
                      parseInt(
                        ref.startsWith('#x') ? ref.slice(2) : ref.slice(1),
                        ref.startsWith('#x') ? 16 : 10,
                      ),
                    );
      i += m[0].length - 1;
    }
    return out;
  };
  const skipSpace = () => {
    while (pos < source.length && /\s/.test(source[pos] ?? '')) pos++;
  };
  const readName = (): string => {
    const start = pos;
    while (pos < source.length && nameChar.test(source[pos] ?? '')) pos++;
    if (pos === start) fail('expected a name');
    return source.slice(start, pos);
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (source.startsWith('<?', pos)) {
        const end = source.indexOf('?>', pos);
        if (end < 0) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else return;
    }
  };
  const readElement = (): XmlElement => {
    if (source[pos] !== '<') fail('expected "<"');
    pos++;
    const name = readName();
    const attrs: Record<string, string> = {};
    for (;;) {
      const before = pos;
      skipSpace();
      if (source.startsWith('/>', pos)) {
        pos += 2;
        return { name, local: localName(name), attrs, children: [], text: '' };
      }
      if (source[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) fail('expected whitespace before an attribute');
      const attr = readName();
      skipSpace();
      if (source[pos] !== '=') fail(`expected "=" after ${attr}`);
      pos++;
      skipSpace();
      const quote = source[pos];
      if (quote !== '"' && quote !== "'") return fail('attribute value must be quoted');
      const end = source.indexOf(quote, pos + 1);
      if (end < 0) fail('unterminated attribute value');
      if (attr in attrs) fail(`duplicate attribute ${attr}`);
      attrs[attr] = decode(source.slice(pos + 1, end), true);
      pos = end + 1;
    }
    const element: XmlElement = { name, local: localName(name), attrs, children: [], text: '' };
    for (;;) {
      if (pos >= source.length) fail(`unclosed element ${name}`);
      if (source.startsWith('</', pos)) {
        pos += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        skipSpace();
        if (source[pos] !== '>') fail('expected ">"');
        pos++;
        return element;
      }
      if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else if (source.startsWith('<![CDATA[', pos)) {
        const end = source.indexOf(']]>', pos);
        if (end < 0) fail('unterminated CDATA');
        element.text += source.slice(pos + 9, end);
        pos = end + 3;
      } else if (source[pos] === '<') {
        element.children.push(readElement());
      } else {
        const next = source.indexOf('<', pos);
        const raw = source.slice(pos, next < 0 ? source.length : next);
        if (raw.includes('>') && raw.includes(']]>')) fail('"]]>" in text');
        element.text += decode(raw, false);
        pos = next < 0 ? source.length : next;
      }
    }
  };
  skipMisc();
  const root = readElement();
  skipMisc();
  if (pos !== source.length) fail('content after the root element');
  return root;
}

function localName(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

export function child(element: XmlElement | undefined, local: string): XmlElement | undefined {
  return element?.children.find((c) => c.local === local);
}

export function childrenNamed(element: XmlElement | undefined, local: string): XmlElement[] {
  return element?.children.filter((c) => c.local === local) ?? [];
}

export function descendant(element: XmlElement | undefined, local: string): XmlElement | undefined {
  if (!element) return undefined;
  for (const c of element.children) {
    if (c.local === local) return c;
    const deeper = descendant(c, local);
    if (deeper) return deeper;
  }
  return undefined;
}

export function textOf(element: XmlElement | undefined): string {
  return element ? element.text.trim() : '';
}

export function escapeXmlText(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
