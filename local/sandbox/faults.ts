import { headerValue, jsonResponse, type SandboxResponse } from './http.js';
import type { FaultResponse, FaultRule, FaultStatusResponse } from './types.js';

export interface FaultContext {
  method: string;
  path: string;
  mailbox?: string | undefined;
  inBatch: boolean;
}

/** mulberry32: tiny, seedable, good enough to make "sometimes" reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

/** Scripted faults, consulted in registration order before a request is handled normally. */
export class FaultScript {
  private rules: ActiveRule[] = [];

  constructor(private readonly random: () => number) {}

  add(rule: FaultRule): void {
    this.rules.push({ rule, remaining: rule.times ?? Infinity });
  }

  clear(): void {
    this.rules = [];
  }

  next(context: FaultContext): FaultResponse | undefined {
    for (const active of this.rules) {
      if (active.remaining <= 0 || !matches(active.rule, context)) continue;
      const { probability } = active.rule;
      if (probability !== undefined && this.random() >= probability) continue;
      active.remaining -= 1;
      return active.rule.respond;
    }
    return undefined;
  }
}

function matches({ match }: FaultRule, context: FaultContext): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== context.method.toUpperCase()) return false;
  if (match.pathIncludes !== undefined && !context.path.includes(match.pathIncludes)) return false;
  if (match.mailbox !== undefined && match.mailbox.toLowerCase() !== context.mailbox) return false;
  if (match.inBatch !== undefined && match.inBatch !== context.inBatch) return false;
  return true;
}

/** The answer a status-type fault gives; throttling answers get `Retry-After: 0` unless the rule says otherwise. */
export function scriptedResponse(
  fault: FaultStatusResponse,
  defaultBody: (status: number) => unknown,
): SandboxResponse {
  const headers: Record<string, string> = {};
  if (
    (fault.status === 429 || fault.status === 503) &&
    headerValue(fault.headers ?? {}, 'Retry-After') === undefined
  ) {
    headers['Retry-After'] = '0';
  }
  for (const [name, value] of Object.entries(fault.headers ?? {})) {
    if (value !== '') headers[name] = value;
  }
  return jsonResponse(
    fault.status,
    fault.body === undefined ? defaultBody(fault.status) : fault.body,
    headers,
  );
}
