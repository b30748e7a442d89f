import { describe, expect, it } from 'vitest';

import {
  applyConfiguration,
  conflictMessage,
  parseIfMatch,
  type VersionCondition,
} from '../../../shared/app/applyConfiguration.js';
import { InMemoryAuditLog } from '../../../shared/audit/inMemoryAuditLog.js';
import type { ConfigDocument } from '../../../shared/config/document.js';
import { configVersion } from '../../../shared/config/tableConfigStore.js';
import type { ConfigStore } from '../../../shared/ports/config.js';
import { InMemoryConfigStore } from '../../fakes/inMemoryConfigStore.js';
import { configDocument, graphProfile } from '../../support/services.js';

const first = { ...configDocument() };
const second = { ...configDocument({ policies: [{ verdict: 'malicious', action: 'hardDelete' }] }) };

/** The in-memory store, with the `ifVersion` of every write it was asked for. */
function recordingStore(inner: ConfigStore = new InMemoryConfigStore()) {
  const puts: (string | undefined)[] = [];
  const store: ConfigStore = {
    get: (options) => inner.get(options),
    put: (document: ConfigDocument, ifVersion?: string) => {
      puts.push(ifVersion);
      return inner.put(document, ifVersion);
    },
  };
  return { store, puts };
}

async function applied(store: ConfigStore, body: unknown): Promise<string> {
  const result = await applyConfiguration(
    { body, condition: undefined, dryRun: false },
    { configStore: store, runtime: 'local' },
  );
  if (result.kind !== 'applied') throw new Error(`not applied: ${result.kind}`);
  return result.version;
}

describe('parseIfMatch', () => {
  it('reads no header, an empty one or only spaces as no condition', () => {
    for (const header of [null, undefined, '', '   ']) expect(parseIfMatch(header)).toBeUndefined();
  });

  it('reads `*`, spaces around it too, as any current document', () => {
    expect(parseIfMatch('*')).toBe('*');
    expect(parseIfMatch('  * ')).toBe('*');
  });

  it('reads a list of strong, weak and bare entity tags, dropping empty ones', () => {
    expect(parseIfMatch('"abc"')).toEqual(['abc']);
    expect(parseIfMatch(' W/"abc" ,"def",  ghi ,, ""')).toEqual(['abc', 'def', 'ghi']);
  });

  it('takes off only a leading W/ and only quotes that enclose the whole tag', () => {
    expect(parseIfMatch('xW/"abc"')).toEqual(['xW/"abc"']);
    expect(parseIfMatch('x"abc"')).toEqual(['x"abc"']);
    expect(parseIfMatch('"abc"x')).toEqual(['"abc"x']);
    expect(parseIfMatch('"a"b"')).toEqual(['a"b']);
    expect(parseIfMatch('W/W/"abc"')).toEqual(['W/"abc"']);
  });
});

describe('conflictMessage', () => {
  it('says why If-Match cannot match before the first apply, and names the current version after', () => {
    expect(conflictMessage(undefined)).toBe(
      'No configuration has been applied yet, so If-Match cannot match; apply without If-Match.',
    );
    expect(conflictMessage('v42')).toBe(
      'The configuration is now at version v42; someone applied a change meanwhile. Reload it, merge, and apply again.',
    );
  });
});

describe('applyConfiguration', () => {
  it('refuses an invalid document with every problem and stores nothing', async () => {
    const { store, puts } = recordingStore();

    const result = await applyConfiguration(
      { body: { profiles: 'no', domains: {} }, condition: undefined, dryRun: false },
      { configStore: store, runtime: 'local' },
    );
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.problems.map((p) => p.path)).toContain('profiles');
    expect(puts).toEqual([]);
    expect(await store.get()).toBeUndefined();
  });

  it('validates for the runtime it is given: a file secret is fine locally and refused in Azure', async () => {
    const profile = graphProfile();
    const body = configDocument({
      profiles: [{ ...profile, certificate: { file: 'cert.pem' } } as typeof profile],
    });

    const inAzure = recordingStore();
    const refused = await applyConfiguration(
      { body, condition: undefined, dryRun: false },
      { configStore: inAzure.store, runtime: 'azure' },
    );
    expect(refused).toMatchObject({ kind: 'invalid', problems: [{ path: 'profiles[0].certificate' }] });
    expect(inAzure.puts).toEqual([]);

    const locally = recordingStore();
    const version = await applied(locally.store, body);
    expect((await locally.store.get())?.version).toBe(version);
  });

  it('a dry run plans the version the document would get and stores nothing', async () => {
    const { store, puts } = recordingStore();

    expect(
      await applyConfiguration(
        { body: first, condition: undefined, dryRun: true },
        { configStore: store, runtime: 'local' },
      ),
    ).toEqual({
      kind: 'planned',
      version: configVersion(first),
      previousVersion: undefined,
      changed: true,
      document: first,
    });
    expect(await store.get()).toBeUndefined();

    const version = await applied(store, first);
    const again = await applyConfiguration(
      { body: first, condition: '*', dryRun: true },
      { configStore: store, runtime: 'local' },
    );
    expect(again).toMatchObject({ kind: 'planned', version, previousVersion: version, changed: false });
    expect(puts).toEqual([undefined]);
  });

  it('applies a document unconditionally, then says whether the next one changed anything', async () => {
    const { store, puts } = recordingStore();
    const audit = new InMemoryAuditLog();
    const deps = {
      configStore: store,
      runtime: 'local' as const,
      audit: { log: audit, who: 'key:ops', warn: () => undefined },
    };

    const one = await applyConfiguration({ body: first, condition: undefined, dryRun: false }, deps);
    expect(one).toEqual({
      kind: 'applied',
      version: configVersion(first),
      previousVersion: undefined,
      changed: true,
      document: first,
    });
    const two = await applyConfiguration({ body: second, condition: undefined, dryRun: false }, deps);
    expect(two).toMatchObject({
      kind: 'applied',
      version: configVersion(second),
      previousVersion: configVersion(first),
      changed: true,
    });
    const three = await applyConfiguration({ body: second, condition: undefined, dryRun: false }, deps);
    expect(three).toMatchObject({ kind: 'applied', previousVersion: configVersion(second), changed: false });

    expect(puts).toEqual([undefined, undefined, undefined]);
    expect((await store.get())?.document.policies[0]?.action).toBe('hardDelete');
    // Only a change is audited: the same document again adds no row.
    expect(audit.entries.map(({ who, what, detail }) => ({ who, what, detail }))).toEqual([
      {
        who: 'key:ops',
        what: 'configurationApplied',
        detail: `configuration version ${configVersion(first)} applied (was none)`,
      },
      {
        who: 'key:ops',
        what: 'configurationApplied',
        detail: `configuration version ${configVersion(second)} applied (was ${configVersion(first)})`,
      },
    ]);
  });

  it('a failed audit write only warns: the document is applied', async () => {
    const warnings: string[] = [];
    const { store } = recordingStore();

    const result = await applyConfiguration(
      { body: first, condition: undefined, dryRun: false },
      {
        configStore: store,
        runtime: 'local',
        audit: {
          log: { append: () => Promise.reject(new Error('table down')), list: () => Promise.resolve([]) },
          who: 'key:ops',
          warn: (line) => warnings.push(line),
        },
      },
    );
    expect(result.kind).toBe('applied');
    expect((await store.get())?.version).toBe(configVersion(first));
    expect(warnings).toEqual([expect.stringContaining('configurationApplied') as unknown as string]);
  });

  it('with If-Match of the current version (or `*`), applies conditionally on that version', async () => {
    const { store, puts } = recordingStore();
    const v1 = await applied(store, first);

    for (const condition of [[v1], ['other', v1], '*'] as VersionCondition[]) {
      const result = await applyConfiguration(
        { body: condition === '*' ? first : second, condition, dryRun: false },
        { configStore: store, runtime: 'local' },
      );
      expect(result.kind).toBe('applied');
      if (result.kind === 'applied') expect(puts.at(-1)).toBe(result.previousVersion);
      // Back to the first document for the next condition.
      if (condition !== '*') await applied(store, first);
    }
    expect(puts).toEqual([undefined, v1, undefined, v1, undefined, v1]);
  });

  it('with If-Match of another version, or of any version before the first apply, is a conflict and stores nothing', async () => {
    const empty = recordingStore();
    for (const condition of ['*', ['v1']] as VersionCondition[])
      expect(
        await applyConfiguration(
          { body: first, condition, dryRun: false },
          { configStore: empty.store, runtime: 'local' },
        ),
      ).toEqual({ kind: 'conflict', currentVersion: undefined });
    expect(empty.puts).toEqual([]);
    expect(await empty.store.get()).toBeUndefined();

    const { store, puts } = recordingStore();
    const v1 = await applied(store, first);
    for (const dryRun of [false, true])
      expect(
        await applyConfiguration(
          { body: second, condition: ['stale', `W/${v1}`], dryRun },
          { configStore: store, runtime: 'local' },
        ),
      ).toEqual({ kind: 'conflict', currentVersion: v1 });
    expect(puts).toEqual([undefined]);
    expect((await store.get())?.version).toBe(v1);
  });

  it('a change applied between the read and the write is a conflict naming the version now current', async () => {
    const inner = new InMemoryConfigStore();
    const v1 = await applied(inner, first);
    const racing: ConfigStore = {
      get: () => inner.get(),
      put: async (document, ifVersion) => {
        // Someone else applies the second document just before this write.
        await inner.put(second);
        return inner.put(document, ifVersion);
      },
    };

    expect(
      await applyConfiguration(
        { body: first, condition: [v1], dryRun: false },
        { configStore: racing, runtime: 'local' },
      ),
    ).toEqual({ kind: 'conflict', currentVersion: configVersion(second) });
    expect((await inner.get())?.version).toBe(configVersion(second));
  });

  it('a store failure that is not a conflict is thrown, not reported as a conflict', async () => {
    const failing: ConfigStore = {
      get: () => Promise.resolve(undefined),
      put: () => Promise.reject(new Error('table down')),
    };

    await expect(
      applyConfiguration(
        { body: first, condition: undefined, dryRun: false },
        { configStore: failing, runtime: 'local' },
      ),
    ).rejects.toThrow('table down');
  });
});
