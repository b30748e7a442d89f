import { isClawbackError } from '../../errors.js';
import type { ActionOutcome } from '../../ports/mail.js';

/** A copy that vanished between finding and acting was removed by someone else: the goal is met. */
export async function removing(
  originalFolder: string,
  done: string,
  act: () => Promise<unknown>,
  quarantineLocation?: string,
): Promise<ActionOutcome> {
  try {
    await act();
    return { status: 'succeeded', originalFolder, quarantineLocation, detail: done };
  } catch (error) {
    if (isClawbackError(error) && error.code === 'MessageNotFound')
      return {
        status: 'alreadyRemediated',
        originalFolder,
        detail: 'the message was already gone from the mailbox',
      };
    throw error;
  }
}

/** The i-th entry, or the last one when there are fewer entries than copies. */
export function pick(values: string[], index: number): string {
  return values[Math.min(index, values.length - 1)] ?? 'inbox';
}

export function plural(n: number): string {
  return n === 1 ? 'copy' : 'copies';
}
