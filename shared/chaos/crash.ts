/**
 * A simulated process death (SPEC §6 chaos faults `crashAfterAction`, `crashAfterRecord`). Nothing
 * catches it on the way out: the queue keeps the message locked until the lock expires, as it would
 * for a worker that died.
 */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

export function isSimulatedCrash(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'SimulatedCrash';
}
