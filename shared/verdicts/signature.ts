import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'x-clawback-signature';
export const maxSignatureAgeSeconds = 5 * 60;

export type SignatureCheck = { ok: true } | { ok: false; message: string };

/**
 * `X-Clawback-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (SPEC §2):
 * compared in constant time, refused when older (or further in the future) than five minutes.
 */
export function verifySignature(
  header: string | null,
  rawBody: Buffer,
  secret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!header) return { ok: false, message: 'X-Clawback-Signature is required for this source.' };
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = parts.get('t') ?? '';
  const v1 = parts.get('v1') ?? '';
  if (!/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/i.test(v1))
    return { ok: false, message: 'X-Clawback-Signature must be "t=<unix seconds>,v1=<hex HMAC-SHA256>".' };
  if (Math.abs(nowSeconds - Number(t)) > maxSignatureAgeSeconds)
    return {
      ok: false,
      message: 'The signature is older than 5 minutes (or its clock is off); sign the request again.',
    };
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(v1, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, message: 'The signature does not match the body.' };
  return { ok: true };
}

/** What a sender computes; used by tests and by the CLI when it signs. */
export function signBody(
  rawBody: Buffer | string,
  secret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const mac = createHmac('sha256', secret).update(`${nowSeconds}.`).update(rawBody).digest('hex');
  return `t=${nowSeconds},v1=${mac}`;
}

export interface SignedSource {
  name: string;
  secret: string;
}

/**
 * Every source named in the body that has a signing secret must have signed it: one header can carry
 * one signature, so a body mixing sources verifies only if they share the secret.
 */
export function checkSources(
  header: string | null,
  rawBody: Buffer,
  signed: SignedSource[],
  nowSeconds?: number,
): SignatureCheck {
  for (const source of signed) {
    const check = verifySignature(header, rawBody, source.secret, nowSeconds);
    if (!check.ok) return { ok: false, message: `${check.message} (source "${source.name}")` };
  }
  return { ok: true };
}

/** What the configuration says about who may post (the parts of the document that matter here). */
export interface SigningPolicy<Ref> {
  sources: { name: string; signingSecret?: Ref | undefined }[];
  requireSignature: boolean;
}

export type SignersFor<Ref> =
  { ok: true; signers: { name: string; secretRef: Ref }[] } | { ok: false; message: string };

/**
 * Which sources of a body must have signed it (SPEC §2). Names are compared trimmed and lower-cased on
 * both sides, so renaming a source (`Proofpoint-TAP `) cannot step around its secret. With
 * `requireSignature` every source must be declared and have a secret.
 */
export function signersFor<Ref>(sourceNames: string[], policy: SigningPolicy<Ref>): SignersFor<Ref> {
  const declared = new Map(policy.sources.map((s) => [s.name.trim().toLowerCase(), s.signingSecret]));
  const signers: { name: string; secretRef: Ref }[] = [];
  for (const name of new Set(sourceNames.map((n) => n.trim().toLowerCase()))) {
    const secretRef = declared.get(name);
    if (secretRef !== undefined) signers.push({ name, secretRef });
    else if (policy.requireSignature)
      return {
        ok: false,
        message: declared.has(name)
          ? `Source "${name}" has no signing secret, and settings.requireSignature accepts only signed verdicts.`
          : `Source "${name}" is not declared in sources, and settings.requireSignature accepts only declared, signed sources.`,
      };
  }
  return { ok: true, signers };
}
