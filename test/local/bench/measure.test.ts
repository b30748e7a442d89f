import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { functionEntries } from '../../../local/bench/measure.js';

/*
 * Cold start is measured by `npm run bench`; what a test can hold is which packages a function entry
 * loads when the host imports it. The heavy SDKs load on first use (composition root, backend
 * factory), so importing an entry loads none of them. Needs `dist/` (npm test builds first).
 */

const functionsDir = path.resolve(__dirname, '../../../dist/functions');
const heavy = [
  'ews-javascript-api',
  'moment',
  '@azure/service-bus',
  '@azure/identity',
  '@azure/msal-node',
  '@azure/keyvault-secrets',
  '@microsoft/microsoft-graph-client',
];

function packagesLoadedBy(entry: string): string[] {
  const probe =
    'require(process.argv[1]);' +
    'const names=new Set(Object.keys(require.cache).map((f)=>/node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(f)?.[1]).filter(Boolean).map((n)=>n.replace(/\\\\/g,"/")));' +
    'process.stdout.write(JSON.stringify([...names]))';
  const stdout = execFileSync(process.execPath, ['-e', probe, path.join(functionsDir, entry)], {
    env: { ...process.env, CLAWBACK_RUNTIME: 'local' },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as string[];
}

describe('cold import of the function entries', () => {
  const entries = functionEntries(functionsDir);

  it('finds the function entries', () => {
    expect(entries).toEqual(
      expect.arrayContaining(['deadLetters.js', 'ingestVerdict.js', 'remediateMailbox.js']),
    );
  });

  it.each(entries)('%s loads no mail backend, identity, Service Bus or Key Vault SDK', (entry) => {
    const loaded = packagesLoadedBy(entry);
    expect(loaded).toContain('@azure/functions');
    expect(heavy.filter((name) => loaded.includes(name))).toEqual([]);
  });
});
