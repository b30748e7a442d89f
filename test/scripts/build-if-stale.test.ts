import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

const script = path.resolve(__dirname, '../../scripts/build-if-stale.mjs');
let project: string;

/** A project folder with one source file and a stamp of the last good build, each at the given time. */
function projectWith(times: { source: Date; stamp?: Date }): string {
  project = mkdtempSync(path.join(tmpdir(), 'clawback-build-'));
  mkdirSync(path.join(project, 'shared'));
  mkdirSync(path.join(project, 'dist'));
  const source = path.join(project, 'shared', 'a.ts');
  writeFileSync(source, 'export const a = 1;\n');
  utimesSync(source, times.source, times.source);
  if (times.stamp) {
    const stamp = path.join(project, 'dist', '.build-stamp');
    writeFileSync(stamp, 'built');
    utimesSync(stamp, times.stamp, times.stamp);
  }
  return project;
}

afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('npm start compiles only when a source changed since the last good build', () => {
  it('skips tsc when the last good build is newer than every source', () => {
    const root = projectWith({
      source: new Date('2026-11-30T08:00:00Z'),
      stamp: new Date('2026-11-30T09:00:00Z'),
    });
    const run = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('dist is up to date; skipping tsc');
  });

  it('compiles when a source is newer than the last good build, or when there was none', () => {
    for (const times of [
      { source: new Date('2026-11-30T10:00:00Z'), stamp: new Date('2026-11-30T09:00:00Z') },
      { source: new Date('2026-11-30T10:00:00Z') },
    ]) {
      const root = projectWith(times);
      // This folder has no TypeScript, so the compile it starts fails: what counts is that it tried and wrote no stamp.
      const run = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
      expect(run.stdout).toContain('compiling (tsc -p tsconfig.build.json)');
      expect(run.status).not.toBe(0);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
