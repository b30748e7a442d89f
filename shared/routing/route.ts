import type { ConfigDocument, Profile } from '../config/document.js';

export type Route = { target: string; profiles: Profile[] } | undefined;

/**
 * Recipient domain → the profile, or the chain's profiles in order. `ALL` catches every domain
 * without a mapping of its own. Domains compare case-insensitively.
 */
export function routeRecipient(config: ConfigDocument, recipient: string): Route {
  const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
  const entries = Object.entries(config.domains);
  const target = entries.find(([d]) => d !== 'ALL' && d.toLowerCase() === domain)?.[1] ?? config.domains.ALL;
  if (target === undefined) return undefined;
  const byName = new Map(config.profiles.map((p) => [p.name, p]));
  const direct = byName.get(target);
  if (direct) return { target, profiles: [direct] };
  const chain = config.chains.find((c) => c.name === target);
  if (!chain) return undefined;
  return { target, profiles: chain.profiles.map((n) => byName.get(n)).filter((p): p is Profile => p !== undefined) };
}
