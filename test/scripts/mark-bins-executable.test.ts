import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const script = path.join(root, 'scripts/mark-bins-executable.mjs');
let project: string | undefined;

afterEach(() => {
  if (project) rmSync(project, { recursive: true, force: true });
  project = undefined;
});

const executable = (file: string) => (statSync(file).mode & 0o111) === 0o111;

describe('the bins package.json names are executable after a build', () => {
  // `npx clawback` runs the bin file itself; npm sets its mode only the first time it links a folder into
  // its npx cache, so a fresh dist in a folder it has seen before was refused ("clawback: Permission denied").
  it('npm run build (the pretest step) left dist/cli/clawback.js executable', () => {
    expect(executable(path.join(root, 'dist/cli/clawback.js'))).toBe(true);
  });

  it('marks a 644 bin 755, for a bin map and for a single bin', () => {
    for (const bin of [{ tool: 'dist/tool.js' }, 'dist/tool.js']) {
      project = mkdtempSync(path.join(tmpdir(), 'clawback-bins-'));
      mkdirSync(path.join(project, 'dist'));
      const file = path.join(project, 'dist/tool.js');
      writeFileSync(file, '#!/usr/bin/env node\n');
      chmodSync(file, 0o644);
      writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tool', bin }));
      const run = spawnSync(process.execPath, [script, project], { encoding: 'utf8' });
      expect(run.status).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o755);
      rmSync(project, { recursive: true, force: true });
    }
  });

  it('fails the build when a named bin was not written', () => {
    project = mkdtempSync(path.join(tmpdir(), 'clawback-bins-'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ bin: { tool: 'dist/missing.js' } }));
    const run = spawnSync(process.execPath, [script, project], { encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('dist/missing.js');
  });
});
