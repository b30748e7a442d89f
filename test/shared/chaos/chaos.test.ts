import { describe, expect, it } from 'vitest';

import { chaosFaults, createChaos, parseChaos } from '../../../shared/chaos/chaos.js';

describe('CLAWBACK_CHAOS', () => {
  it('reads the faults SPEC §6 names with their probabilities and the seed', () => {
    const chaos = parseChaos(
      'redeliver=0.2,crashAfterAction=0.2, crashAfterRecord=0.2,lockLost=0.1,tableFault=0.05',
      '42',
    );
    expect(chaos?.faults).toEqual({
      redeliver: 0.2,
      crashAfterAction: 0.2,
      crashAfterRecord: 0.2,
      lockLost: 0.1,
      tableFault: 0.05,
    });
    expect(chaos?.seed).toBe(42);
    expect(chaos?.describe()).toBe(
      'redeliver=0.2, crashAfterAction=0.2, crashAfterRecord=0.2, lockLost=0.1, tableFault=0.05 (seed 42)',
    );
  });

  it('is off when unset or empty', () => {
    expect(parseChaos(undefined, undefined)).toBeUndefined();
    expect(parseChaos('  ', '1')).toBeUndefined();
  });

  it('refuses an unknown fault, a probability outside 0..1 and a seed that is not an integer', () => {
    expect(() => parseChaos('explode=0.5', '1')).toThrow(/unknown fault "explode"/);
    expect(() => parseChaos('redeliver=1.5', '1')).toThrow(/probability from 0 to 1/);
    expect(() => parseChaos('redeliver=', '1')).toThrow(/probability/);
    expect(() => parseChaos('redeliver=0.1', 'x')).toThrow(/CLAWBACK_CHAOS_SEED/);
  });

  it('draws the same faults in the same order for the same seed, about as often as asked', () => {
    const draws = (seed: number) => {
      const chaos = createChaos({ redeliver: 0.3 }, seed);
      return Array.from({ length: 1000 }, () => chaos.roll('redeliver'));
    };
    expect(draws(7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
    const hits = draws(7).filter(Boolean).length;
    expect(hits).toBeGreaterThan(200);
    expect(hits).toBeLessThan(400);
    const none = createChaos({}, 1);
    for (const fault of chaosFaults) expect(none.roll(fault)).toBe(false);
  });
});
