import { catchAllDomain, type ConfigDocument, normalizeDomain, type Profile } from '../config/document.js';

export type Route = { target: string; profiles: Profile[] } | undefined;

/** The part of an address routing compares, in the same form as the document's keys. */
export function recipientDomain(recipient: string): string {
  const raw = recipient.slice(recipient.lastIndexOf('@') + 1);
  return normalizeDomain(raw) ?? raw.toLowerCase();
}

/**
 * Recipient domain → the profile, or the chain's profiles in order. `ALL` catches every domain
 * without a mapping of its own. The document's domains are stored lower case with IDN labels in
 * punycode, and the recipient's domain is brought to the same form, so `Bücher.example` and
 * `xn--bcher-kva.example` route alike.
 */
export function routeRecipient(config: ConfigDocument, recipient: string): Route {
  const domain = recipientDomain(recipient);
  const own =
    Object.hasOwn(config.domains, domain) && domain !== catchAllDomain ? config.domains[domain] : undefined;
  const target = own ?? config.domains[catchAllDomain];
  if (target === undefined) return undefined;
  const byName = new Map(config.profiles.map((p) => [p.name, p]));
  const direct = byName.get(target);
  if (direct) return { target, profiles: [direct] };
  const chain = config.chains.find((c) => c.name === target);
  if (!chain) return undefined;
  return {
    target,
    profiles: chain.profiles.map((n) => byName.get(n)).filter((p): p is Profile => p !== undefined),
  };
}
