import { ClawbackError } from '../errors.js';
import type { ResultStore } from '../ports/results.js';
import { SimulatedCrash } from './crash.js';

/** The faults SPEC §6 names, each with a probability per event. */
export const chaosFaults = [
  'redeliver',
  'crashAfterAction',
  'crashAfterRecord',
  'lockLost',
  'tableFault',
] as const;
export type ChaosFault = (typeof chaosFaults)[number];

export interface Chaos {
  readonly seed: number;
  readonly faults: Readonly<Record<ChaosFault, number>>;
  /** True when the fault happens this time (a draw from the seeded generator). */
  roll(fault: ChaosFault): boolean;
  /** How often each fault was injected so far. */
  readonly injected: Readonly<Record<ChaosFault, number>>;
  describe(): string;
}

/**
 * Reads `CLAWBACK_CHAOS="redeliver=0.2,crashAfterAction=0.2,..."` and `CLAWBACK_CHAOS_SEED=<integer>`.
 * Undefined when no fault is asked for; an unknown fault or a probability outside 0..1 is refused.
 */
export function parseChaos(spec: string | undefined, seedText: string | undefined): Chaos | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  const faults = Object.fromEntries(chaosFaults.map((f) => [f, 0])) as Record<ChaosFault, number>;
  for (const part of spec.split(',')) {
    const [name = '', value = ''] = part.split('=').map((s) => s.trim());
    if (name === '') continue;
    if (!(chaosFaults as readonly string[]).includes(name))
      throw new Error(`CLAWBACK_CHAOS: unknown fault "${name}"; known faults: ${chaosFaults.join(', ')}.`);
    const p = Number(value);
    if (value === '' || !Number.isFinite(p) || p < 0 || p > 1)
      throw new Error(`CLAWBACK_CHAOS: ${name} needs a probability from 0 to 1, not "${value}".`);
    faults[name as ChaosFault] = p;
  }
  const seed = seedText === undefined || seedText.trim() === '' ? Date.now() % 2 ** 31 : Number(seedText);
  if (!Number.isInteger(seed)) throw new Error(`CLAWBACK_CHAOS_SEED must be an integer, not "${seedText}".`);
  return createChaos(faults, seed);
}

export function createChaos(faults: Partial<Record<ChaosFault, number>>, seed: number): Chaos {
  const all = Object.fromEntries(chaosFaults.map((f) => [f, faults[f] ?? 0])) as Record<ChaosFault, number>;
  const injected = Object.fromEntries(chaosFaults.map((f) => [f, 0])) as Record<ChaosFault, number>;
  const next = mulberry32(seed);
  return {
    seed,
    faults: all,
    injected,
    roll(fault) {
      const p = all[fault];
      if (p <= 0) return false;
      const hit = next() < p;
      if (hit) injected[fault] += 1;
      return hit;
    },
    describe() {
      const active = chaosFaults.filter((f) => all[f] > 0).map((f) => `${f}=${all[f]}`);
      return `${active.join(', ') || 'none'} (seed ${seed})`;
    },
  };
}

/** The crash hook the remediation use case calls after its action and after its row write. */
export function chaosCrash(chaos: Chaos): (point: string) => void {
  return (point) => {
    const fault =
      point === 'afterAction' ? 'crashAfterAction' : point === 'afterRecord' ? 'crashAfterRecord' : undefined;
    if (fault && chaos.roll(fault)) throw new SimulatedCrash(`chaos: ${fault}`);
  };
}

const writes: ReadonlySet<string> = new Set([
  'createVerdict',
  'createVerdicts',
  'mergeVerdict',
  'updateVerdict',
  'createRemediations',
  'updateRemediation',
  'recordRemediatedCopy',
  'recordDeliveries',
  'markRestored',
  'claimEvent',
  'claimEvents',
  'releaseEvent',
]);

/** `tableFault`: a write fails once with 503 before it reaches the table, as a throttled storage account answers. */
export function chaosResultStore(store: ResultStore, chaos: Chaos): ResultStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || !writes.has(property)) return value;
      return (...args: unknown[]): unknown => {
        if (chaos.roll('tableFault'))
          return Promise.reject(
            new ClawbackError(
              'ConnectionError',
              `Table Storage ${property} failed (HTTP 503): injected by chaos.`,
              {
                retryable: true,
              },
            ),
          );
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A small seeded generator: the same seed gives the same draws in the same order. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
