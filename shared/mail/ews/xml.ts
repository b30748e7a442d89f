/**
 * ews-javascript-api writes attribute and element values verbatim, so every value that did not come
 * from this code (message ids, addresses, folder names, subjects) is escaped before it reaches the
 * library. Escaping twice cannot happen because the library never escapes.
 */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => xmlEntities[c] ?? c);
}

const xmlEntities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
