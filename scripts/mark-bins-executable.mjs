// @ts-check
/**
 * Makes every file package.json's "bin" names executable (mode 755). tsc writes its output 644, and
 * `npx clawback` runs dist/cli/clawback.js directly: npm only sets the bit when it first links the
 * project into its npx cache, so a rebuilt dist in a folder npx has seen before would be refused with
 * "Permission denied". `npm run build` and `npm start` both run this after tsc.
 *
 * Usage: node scripts/mark-bins-executable.mjs [projectFolder]
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/**
 * @param {string} root the project folder holding package.json
 * @returns {string[]} the bin files it marked, relative to root
 */
export function markBinsExecutable(root) {
  if (!existsSync(path.join(root, 'package.json'))) return [];
  /** @type {{ bin?: string | Record<string, string> }} */
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  const marked = [];
  for (const bin of bins) {
    const file = path.join(root, bin);
    if (!existsSync(file)) throw new Error(`package.json names bin ${bin}, which the build did not write`);
    if ((statSync(file).mode & 0o111) !== 0o111) chmodSync(file, 0o755);
    marked.push(bin);
  }
  return marked;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  markBinsExecutable(root);
}
