import type { CallOptions } from '../../ports/mail.js';
import type { Page, PageRequest, RemediatedCopies, RemediatedCopy } from '../../ports/results.js';
import { copyRowKey } from '../../verdicts/ids.js';
import { MemoryTable, turn } from './memoryTable.js';

/** `RemediatedCopies` in memory. */
export class InMemoryRemediatedCopies implements RemediatedCopies {
  readonly table = new MemoryTable<RemediatedCopy>();

  async recordRemediatedCopy(copy: RemediatedCopy, _options?: CallOptions): Promise<void> {
    await turn();
    // A new remediation of the copy supersedes an earlier one, restored or not.
    this.table.upsert(copy.threatKey, copyRowKey(copy.recipient, copy.internetMessageId), {
      ...copy,
      restoredAt: undefined,
    });
  }

  async getRemediatedCopy(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    _options?: CallOptions,
  ): Promise<RemediatedCopy | undefined> {
    await turn();
    return this.table.get(threatKey, copyRowKey(recipient, internetMessageId))?.value;
  }

  async listRemediatedCopies(
    threatKey: string,
    page: PageRequest,
    _options?: CallOptions,
  ): Promise<Page<RemediatedCopy>> {
    await turn();
    return this.table.page(threatKey, page, (c) => c);
  }

  async markRestored(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    restoredAt: string,
    _options?: CallOptions,
  ): Promise<void> {
    await turn();
    this.table.update(
      threatKey,
      copyRowKey(recipient, internetMessageId),
      (c) => ({ ...c, restoredAt }),
      '*',
    );
  }
}
