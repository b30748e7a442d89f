import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

import { describe, expect, it } from 'vitest';

import { connectionTestCodes } from '../../shared/connection/diagnose.js';
import {
  ClawbackError,
  ensureError,
  failureReasons,
  failureReasonTable,
  isClawbackError,
  isError,
  isValidationError,
  ValidationError,
} from '../../shared/errors.js';

const root = path.resolve(__dirname, '../..');
const doc = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');

/** The rows of the markdown table under `heading`, split into trimmed cells. */
function tableRows(heading: string): string[][] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading)) ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
    .slice(1)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** Every `errorResponse(<status>, '<Code>'` in the HTTP layer, read from the source. */
function httpCodesInSource(): Set<string> {
  const dirs = ['functions', 'shared/app', 'shared/http'];
  const codes = new Set<string>();
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.ts'));
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(path.join(root, dir, file), 'utf8');
      for (const m of text.matchAll(/errorResponse\(\s*(\d{3}),\s*'([A-Za-z]+)'/g))
        codes.add(`${m[1]} ${m[2]}`);
    }
  }
  return codes;
}

describe('docs/errors.md', () => {
  it('documents every failure reason with the retryable default of the code table', () => {
    const rows = tableRows('Failure reasons');
    const documented = rows.map(([code, retryable]) => [code?.replace(/`/g, ''), retryable]);
    expect(documented).toEqual(
      failureReasons.map((code) => [code, failureReasonTable[code].retryable ? 'yes' : 'no']),
    );
  });

  it('documents every HTTP error code the endpoints answer, with its status', () => {
    const documented = new Set(tableRows('HTTP error codes').map(([s, c]) => `${s} ${c?.replace(/`/g, '')}`));
    const answered = httpCodesInSource();
    expect(answered.size).toBeGreaterThan(10);
    expect([...answered].filter((c) => !documented.has(c))).toEqual([]);
  });

  it('documents every connection-test code, each with a remedy', () => {
    const rows = tableRows('Connection-test codes');
    expect(rows.map(([code]) => code?.replace(/`/g, ''))).toEqual([...connectionTestCodes]);
    expect(rows.filter((r) => !r[2])).toEqual([]);
  });
});

describe('error guards', () => {
  it('recognise errors from another realm, where instanceof fails', () => {
    const foreign: unknown = vm.runInNewContext('new TypeError("elsewhere")');
    expect(foreign instanceof Error).toBe(false);
    expect(isError(foreign)).toBe(true);
    expect(ensureError(foreign)).toBe(foreign);
  });

  it('tell project errors apart by name and code, not by class', () => {
    const copy = { name: 'ClawbackError', code: 'Throttled', message: 'slow down', retryable: true };
    expect(isClawbackError(copy)).toBe(true);
    expect(isClawbackError({ ...copy, code: 'NotACode' })).toBe(false);
    expect(isValidationError(new ValidationError('bad', []))).toBe(true);
    expect(isValidationError(new ClawbackError('Unknown', 'x'))).toBe(false);
    expect(isError('a string')).toBe(false);
    expect(ensureError('a string').message).toBe('a string');
  });
});
