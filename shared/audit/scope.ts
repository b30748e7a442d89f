import { AsyncLocalStorage } from 'node:async_hooks';

/** Whose work a mailbox action is part of: the auditing decorator reads it where the port gives no verdict. */
export interface AuditScope {
  who: string;
  verdictId?: string | undefined;
}

const storage = new AsyncLocalStorage<AuditScope>();

export function withAuditScope<T>(scope: AuditScope, run: () => Promise<T>): Promise<T> {
  return storage.run(scope, run);
}

export function currentAuditScope(): AuditScope | undefined {
  return storage.getStore();
}
