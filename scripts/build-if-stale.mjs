// @ts-check
/**
 * `npm start` runs this first: it compiles only when a source is newer than the last successful
 * build, so a restart with nothing changed starts in seconds (the sandbox mailboxes are seeded afresh
 * either way). The stamp is written after tsc succeeds, so a failed build is never mistaken for a good one.
 *
 * Usage: node scripts/build-if-stale.mjs [projectFolder]
 */
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

import { markBinsExecutable } from './mark-bins-executable.mjs';

/** The project folder: this script's parent, or the folder given as the first argument. */
const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const stamp = path.join(root, 'dist', '.build-stamp');
const sources = ['functions', 'shared', 'local', 'cli'];
const configFiles = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/** @param {string} dir @returns {number} */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(full).mtimeMs);
  }
  return latest;
}

const latestSource = Math.max(
  ...sources.map((dir) => (existsSync(path.join(root, dir)) ? newest(path.join(root, dir)) : 0)),
  ...configFiles.map((file) =>
    existsSync(path.join(root, file)) ? statSync(path.join(root, file)).mtimeMs : 0,
  ),
);
if (existsSync(stamp) && statSync(stamp).mtimeMs >= latestSource) {
  console.log('build       dist is up to date; skipping tsc');
  markBinsExecutable(root);
  process.exit(0);
}
console.log('build       compiling (tsc -p tsconfig.build.json)');
const tsc = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
markBinsExecutable(root);
mkdirSync(path.dirname(stamp), { recursive: true });
writeFileSync(stamp, new Date().toISOString());
