import type { CursorStore, SourceCursor } from '../ports/cursors.js';

/** `SourceCursors` in memory: tests, and anything that needs no state across restarts. */
export class InMemoryCursorStore implements CursorStore {
  private readonly rows = new Map<string, SourceCursor>();

  get(source: string): Promise<SourceCursor | undefined> {
    const row = this.rows.get(source);
    return Promise.resolve(row ? { ...row } : undefined);
  }

  put(cursor: SourceCursor): Promise<void> {
    this.rows.set(cursor.source, { ...cursor });
    return Promise.resolve();
  }

  list(): Promise<SourceCursor[]> {
    return Promise.resolve([...this.rows.values()].map((r) => ({ ...r })));
  }
}
