import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadCompiled, repoRoot } from './arm.js';

/*
 * npm run infra:build must fail on any compiler or linter diagnostic, warnings included, and then leave
 * the last good output alone. A fake bicep (BICEP=...) reports one diagnostic of each level.
 */

const work = mkdtempSync(path.join(os.tmpdir(), 'clawback-bicep-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function buildWith(level: string) {
  const fake = path.join(work, `bicep-${level}`);
  writeFileSync(
    fake,
    `#!/usr/bin/env bash
if [ "$1" = --version ]; then echo 'Bicep CLI version 0.0.0 (fake)'; exit 0; fi
out=""; while [ $# -gt 0 ]; do [ "$1" = --outfile ] && out="$2"; shift; done
echo '{}' > "$out"
echo "/repo/infra/main.bicep(3,7) : ${level} no-unused-params: Parameter \\"x\\" is declared but never used." >&2
`,
  );
  chmodSync(fake, 0o755);
  return spawnSync(process.execPath, [path.join(repoRoot, 'scripts/infra-build.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, BICEP: fake },
  });
}

describe('npm run infra:build', () => {
  loadCompiled();
  const main = path.join(repoRoot, '.infra-build', 'main.json');
  const before = statSync(main).mtimeMs;

  it.each(['Warning', 'Error', 'Info'])('fails on a single %s and keeps the last good output', (level) => {
    const result = buildWith(level);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`: ${level} no-unused-params:`);
    expect(result.stderr).toMatch(/warnings fail the build too/);
    expect(statSync(main).mtimeMs).toBe(before);
  });
});
