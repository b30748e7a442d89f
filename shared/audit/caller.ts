/**
 * Who called: recorded in the audit trail, so it must name the caller without ever holding a
 * credential. A Functions key is named, never quoted; Entra identities come from App Service
 * Authentication's headers, which the platform sets and strips from what clients send.
 */

/** Set by the local runtime only, after it matched the request's key; ignored in Azure. */
export const localKeyNameHeader = 'x-clawback-key-name';

export interface HeaderSource {
  get(name: string): string | null;
}

const maxLength = 200;

// Control characters would corrupt a table cell or a log line.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/g;

function clean(value: string): string {
  return value.replace(controlCharacters, ' ').trim().slice(0, maxLength);
}

/** The name inside an `x-ms-client-principal` (base64 JSON, App Service or Static Web Apps shape). */
function principalName(encoded: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const p = parsed as { userDetails?: unknown; claims?: unknown; name_typ?: unknown };
  if (typeof p.userDetails === 'string' && p.userDetails !== '') return p.userDetails;
  if (!Array.isArray(p.claims)) return undefined;
  const claims = p.claims as { typ?: unknown; val?: unknown }[];
  const wanted = [
    typeof p.name_typ === 'string' ? p.name_typ : '',
    'preferred_username',
    'upn',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
    'name',
    'oid',
    'http://schemas.microsoft.com/identity/claims/objectidentifier',
  ];
  for (const typ of wanted) {
    const claim = claims.find((c) => c.typ === typ && typeof c.val === 'string' && c.val !== '');
    if (claim) return claim.val as string;
  }
  return undefined;
}

/**
 * `entra:<identity>` when App Service Authentication vouches for the caller; else `key:<name>` when
 * the local runtime named the matching key; else `key:unnamed` for a Functions key whose name the
 * host does not pass to the worker; else `anonymous`.
 */
export function callerOf(headers: HeaderSource, runtime: 'azure' | 'local'): string {
  const name = headers.get('x-ms-client-principal-name');
  if (name && clean(name) !== '') return `entra:${clean(name)}`;
  const principal = headers.get('x-ms-client-principal');
  const fromPrincipal = principal ? principalName(principal) : undefined;
  if (fromPrincipal && clean(fromPrincipal) !== '') return `entra:${clean(fromPrincipal)}`;
  const keyName = runtime === 'local' ? headers.get(localKeyNameHeader) : null;
  if (keyName && clean(keyName) !== '') return `key:${clean(keyName)}`;
  if (headers.get('x-functions-key')) return 'key:unnamed';
  return 'anonymous';
}

/**
 * The local runtime's named keys, `CLAWBACK_LOCAL_KEYS="soc-admin=<key>,ingest=<key>"`: the name
 * of the one a request presented, `unrecognised` for any other key, undefined for none.
 */
export function localKeyName(
  presented: string | null | undefined,
  spec: string | undefined,
): string | undefined {
  if (!presented) return undefined;
  for (const pair of (spec ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    if (pair.slice(at + 1).trim() === presented) return pair.slice(0, at).trim();
  }
  return 'unrecognised';
}
