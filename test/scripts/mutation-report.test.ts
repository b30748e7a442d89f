import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

const script = path.resolve(__dirname, '../../scripts/mutation-report.mjs');
let project: string | undefined;

afterEach(() => {
  if (project) rmSync(project, { recursive: true, force: true });
  project = undefined;
});

const policySource = 'export const a = 1 < 2;\n';
const routeSource = 'export const b = 2;\n';
const testSource = 'it("works", () => {});\n';

const mutant = (status: string, killedBy: string[] = []) => ({
  id: `m-${status}`,
  mutatorName: 'EqualityOperator',
  replacement: '<=',
  status,
  location: { start: { line: 1, column: 17 }, end: { line: 1, column: 22 } },
  killedBy,
  coveredBy: killedBy,
});

/** A project with two measured parts: the newer one measured route.ts against a source since changed. */
function projectWithParts(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'clawback-mutation-'));
  mkdirSync(path.join(root, 'shared/remediation'), { recursive: true });
  mkdirSync(path.join(root, 'shared/routing'), { recursive: true });
  mkdirSync(path.join(root, 'test'), { recursive: true });
  mkdirSync(path.join(root, 'reports/mutation/parts'), { recursive: true });
  writeFileSync(path.join(root, 'shared/remediation/policy.ts'), policySource);
  writeFileSync(path.join(root, 'shared/routing/route.ts'), routeSource);
  writeFileSync(path.join(root, 'shared/remediation/unmeasured.ts'), 'export {};\n');
  // Nothing to mutate: Stryker records no result for it.
  writeFileSync(
    path.join(root, 'shared/remediation/types.ts'),
    "import type { A } from './a.js';\nexport interface B { a: A }\nexport type C = B;\nexport { d } from './d.js';\n",
  );
  writeFileSync(path.join(root, 'test/a.test.ts'), testSource);
  const part = (name: string, files: object, at: Date) => {
    const file = path.join(root, 'reports/mutation/parts', `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        schemaVersion: '1.0',
        files,
        testFiles: { 'test/a.test.ts': { source: testSource, tests: [{ id: '0', name: 'works' }] } },
      }),
    );
    utimesSync(file, at, at);
  };
  part(
    'older',
    {
      'shared/remediation/policy.ts': {
        source: policySource,
        mutants: [
          mutant('Killed', ['0']),
          mutant('Killed', ['0']),
          mutant('Killed', ['0']),
          mutant('Survived'),
        ],
      },
      'shared/routing/route.ts': { source: routeSource, mutants: [mutant('Killed', ['0'])] },
    },
    new Date('2026-11-30T10:00:00Z'),
  );
  part(
    'newer',
    {
      'shared/routing/route.ts': {
        source: 'export const b = 1;\n',
        mutants: [mutant('Survived'), mutant('NoCoverage'), mutant('CompileError')],
      },
    },
    new Date('2026-11-30T11:00:00Z'),
  );
  return root;
}

const run = (...args: string[]) =>
  spawnSync(process.execPath, [script, '--root', project ?? '', ...args], { encoding: 'utf8' });

describe('mutation-report: the scores of the committed results, without running Stryker', () => {
  it('summarises each scope first, keeping the measurement made against the current source', () => {
    project = projectWithParts();
    const out = run();
    expect(out.status).toBe(0);
    // policy.ts 3 of 4 killed; route.ts from the older part (its newer result is stale): 1 of 1.
    expect(out.stdout).toMatch(/^domain \(3\/4\)\s+5\s+0\s+4\s+0\s+1\s+0\s+80\.0 %$/m);
    expect(out.stdout).toMatch(/^use cases \(0\/0\)\s+0 .* n\/a$/m);
    expect(out.stdout).not.toContain('shared/routing/route.ts');
  });

  it('counts a scope named by one file (shared/mail/mime.ts, used by both backends)', () => {
    project = projectWithParts();
    expect(run().stdout).toMatch(/^mail, both backends \(0\/0\)\s+0 .* n\/a$/m);
    mkdirSync(path.join(project, 'shared/mail'), { recursive: true });
    writeFileSync(path.join(project, 'shared/mail/mime.ts'), 'export const m = 1;\n');
    expect(run().stdout).toMatch(/^mail, both backends \(0\/1\)\s+0 /m);
  });

  it('lists modules and survivors on request', () => {
    project = projectWithParts();
    const out = run('--modules', '--survivors');
    expect(out.stdout).toMatch(/^shared\/remediation\/unmeasured\.ts\s+not measured$/m);
    expect(out.stdout).toMatch(
      /^shared\/remediation\/types\.ts\s+no code to mutate \(types and re-exports\)$/m,
    );
    expect(out.stdout).toMatch(/^shared\/routing\/route\.ts\s+1\s+0\s+1\s+0\s+0\s+0\s+100\.0 %\s+older$/m);
    expect(out.stdout).toContain('shared/remediation/policy.ts:1:17 Survived EqualityOperator "<="');
    expect(out.stdout).toContain('export const a = 1 < 2;');
  });

  it('--write merges the parts into the file npm run mutation starts from, test ids kept apart per part', () => {
    project = projectWithParts();
    expect(run('--write').status).toBe(0);
    const merged = JSON.parse(
      readFileSync(path.join(project, 'reports/mutation/stryker-incremental.json'), 'utf8'),
    ) as {
      files: Record<string, { source: string; mutants: { killedBy: string[] }[] }>;
      testFiles: Record<string, { tests: { id: string }[] }>;
    };
    expect(Object.keys(merged.files).sort()).toEqual([
      'shared/remediation/policy.ts',
      'shared/routing/route.ts',
    ]);
    expect(merged.files['shared/routing/route.ts']?.source).toBe(routeSource);
    expect(merged.files['shared/remediation/policy.ts']?.mutants[0]?.killedBy).toEqual(['older:0']);
    // Only the part whose results were kept contributes its tests.
    expect(merged.testFiles['test/a.test.ts']?.tests.map((t) => t.id)).toEqual(['older:0']);
  });
});
