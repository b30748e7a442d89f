import { verdictChangeSchema } from '../verdicts/schema.js';
import { looksLikeCiscoSecureEndpoint, normaliseCiscoSecureEndpoint } from './ciscoSecureEndpoint.js';
import { isRecord, type NormaliseResult, type Problem } from './fields.js';
import { looksLikeMicrosoftDefender, normaliseMicrosoftDefender } from './microsoftDefender.js';
import { looksLikeProofpointTap, normaliseProofpointTap } from './proofpointTap.js';

export type { NormaliseResult, Problem } from './fields.js';

export const sourceFormats = [
  'generic',
  'proofpoint-tap',
  'cisco-secure-endpoint',
  'microsoft-defender',
] as const;
export type SourceFormat = (typeof sourceFormats)[number];

export function isSourceFormat(value: string): value is SourceFormat {
  return (sourceFormats as readonly string[]).includes(value);
}

const nativeFormats: Record<
  Exclude<SourceFormat, 'generic'>,
  { looksLike: (body: unknown) => boolean; normalise: (body: unknown) => NormaliseResult }
> = {
  'proofpoint-tap': { looksLike: looksLikeProofpointTap, normalise: normaliseProofpointTap },
  'cisco-secure-endpoint': {
    looksLike: looksLikeCiscoSecureEndpoint,
    normalise: normaliseCiscoSecureEndpoint,
  },
  'microsoft-defender': { looksLike: looksLikeMicrosoftDefender, normalise: normaliseMicrosoftDefender },
};

/** Which format a parsed body is in, from its shape; 'generic' when it looks like Clawback's own — or like nothing known. */
export function detectFormat(body: unknown): SourceFormat {
  for (const [format, { looksLike }] of Object.entries(nativeFormats))
    if (looksLike(body)) return format as SourceFormat;
  return 'generic';
}

/** Two of these make a body Clawback's own even with others missing, so the schema can say which. */
const coreKeys: (keyof typeof verdictChangeSchema.shape)[] = ['eventId', 'source', 'verdict', 'threat'];

/**
 * Native body → generic verdict change objects (plain, still to be validated by verdictChangeSchema),
 * or the problems {path, message} that make the body no valid instance of that format. A native body
 * can yield no change at all (blocked mail, untriaged alerts); `notes` then says why.
 */
export function normalise(format: SourceFormat, body: unknown): NormaliseResult {
  if (format !== 'generic') return nativeFormats[format].normalise(body);
  if (Array.isArray(body)) return { ok: true, changes: body, notes: [] };
  if (isRecord(body) && coreKeys.filter((key) => key in body).length >= 2)
    return { ok: true, changes: [body], notes: [] };
  return { ok: false, details: [unrecognised(body)] };
}

function unrecognised(body: unknown): Problem {
  const found = isRecord(body)
    ? Object.keys(body)
        .slice(0, 10)
        .map((key) => key.slice(0, 40))
    : [];
  return {
    path: '$',
    message:
      'is no verdict change Clawback recognises: expected its own (eventId, source, verdict, threat) or a native format ' +
      `named with ?format=${sourceFormats.filter((f) => f !== 'generic').join('|')}` +
      (isRecord(body)
        ? `; the object's keys are ${found.length > 0 ? found.join(', ') : '(none)'}`
        : `; got ${body === null ? 'null' : typeof body}`),
  };
}
