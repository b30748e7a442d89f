// @ts-check
/**
 * The mutation score of every module in scope, from the committed incremental results, without
 * running Stryker: the whole picture first (one line per scope), then a line per module with
 * `--modules`, and every surviving mutant with `--survivors`.
 *
 * Stryker writes its incremental file for the modules of one run only, so runs of parts of the scope
 * (`MUTATE=...`) each keep their own file in reports/mutation/parts/. `--write` merges them into
 * reports/mutation/stryker-incremental.json, the file `npm run mutation` starts from, so a full run
 * from a fresh clone re-tests only what changed since each part was measured.
 *
 * Usage: node scripts/mutation-report.mjs [--modules] [--survivors] [--write] [--root projectFolder]
 */
import console from 'node:console';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const argv = process.argv.slice(2);
const rootAt = argv.indexOf('--root');
/** The project folder: this script's parent, or the one after --root. */
const root = path.resolve(
  rootAt >= 0 ? (argv[rootAt + 1] ?? '.') : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'),
);
const partsDir = path.join(root, 'reports/mutation/parts');
const mainFile = path.join(root, 'reports/mutation/stryker-incremental.json');
const args = new Set(argv);

/** The scopes issue 15 measures, in the order they are printed. */
const scopes = [
  {
    name: 'domain',
    prefixes: ['shared/verdicts/', 'shared/recipients/', 'shared/routing/', 'shared/remediation/'],
  },
  { name: 'use cases', prefixes: ['shared/app/'] },
  { name: 'Graph backend', prefixes: ['shared/mail/graph/'] },
  { name: 'EWS backend', prefixes: ['shared/mail/ews/'] },
  { name: 'mail, both backends', prefixes: ['shared/mail/mime.ts'] },
];

/**
 * @typedef {{ id: string, mutatorName: string, replacement?: string, status: string, location: { start: { line: number, column: number } }, killedBy?: string[], coveredBy?: string[], static?: boolean }} Mutant
 * @typedef {{ source: string, mutants: Mutant[] }} FileResult
 * @typedef {{ source?: string, tests: { id: string, name: string }[] }} TestFile
 * @typedef {{ files: Record<string, FileResult>, testFiles?: Record<string, TestFile> }} Report
 */

/** Every result file, newest last: a newer measurement of a module wins. */
const reports = [
  ...(existsSync(partsDir)
    ? readdirSync(partsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => path.join(partsDir, f))
    : []),
  ...(existsSync(mainFile) ? [mainFile] : []),
]
  .map((file) => ({
    name: path.basename(file, '.json'),
    file,
    mtime: statSync(file).mtimeMs,
    /** @type {Report} */ report: JSON.parse(readFileSync(file, 'utf8')),
  }))
  .sort((a, b) => a.mtime - b.mtime);

const readSource = (/** @type {string} */ relative) => {
  const full = path.join(root, relative);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
};

/**
 * Per module, the result to keep: one measured against the module's current source if there is one
 * (the newest such), else the newest at all, marked stale.
 * @type {Map<string, { part: string, result: FileResult, stale: boolean }>}
 */
const modules = new Map();
for (const { name, report } of reports) {
  for (const [file, result] of Object.entries(report.files)) {
    const stale = result.source !== readSource(file);
    const kept = modules.get(file);
    if (!kept || kept.stale || !stale) modules.set(file, { part: name, result, stale });
  }
}

/**
 * A module with nothing Stryker can mutate: only types, interfaces, imports and re-exports. Stryker
 * records no result for it, so it counts as measured with no mutants rather than as never run.
 * @param {string} relative
 */
function hasNoCode(relative) {
  const text = readSource(relative);
  if (text === undefined) return false;
  const file = ts.createSourceFile(relative, text, ts.ScriptTarget.Latest);
  return file.statements.every(
    (s) =>
      ts.isInterfaceDeclaration(s) ||
      ts.isTypeAliasDeclaration(s) ||
      ts.isImportDeclaration(s) ||
      (ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined),
  );
}

/** @param {Mutant[]} mutants */
function count(mutants) {
  const by = (/** @type {string} */ s) => mutants.filter((m) => m.status === s).length;
  const c = {
    mutants: mutants.length,
    invalid: by('CompileError') + by('RuntimeError') + by('Ignored'),
    killed: by('Killed'),
    timeout: by('Timeout'),
    survived: by('Survived'),
    noCoverage: by('NoCoverage'),
  };
  const valid = c.killed + c.timeout + c.survived + c.noCoverage;
  return { ...c, score: valid === 0 ? undefined : ((c.killed + c.timeout) / valid) * 100 };
}

const pct = (/** @type {number | undefined} */ s) => (s === undefined ? 'n/a' : `${s.toFixed(1)} %`);
const row = (/** @type {string} */ label, /** @type {ReturnType<typeof count>} */ c, extra = '') =>
  `${label.padEnd(44)} ${String(c.mutants).padStart(5)} ${String(c.invalid).padStart(8)} ${String(c.killed).padStart(6)} ${String(c.timeout).padStart(7)} ${String(c.survived).padStart(8)} ${String(c.noCoverage).padStart(6)} ${pct(c.score).padStart(8)}${extra}`;

console.log(
  `${'scope (modules measured / in scope)'.padEnd(44)} mutants  invalid killed timeout survived no-cov    score`,
);
for (const scope of scopes) {
  const inScope = listSources(scope.prefixes);
  const measured = inScope.filter((f) => modules.has(f) || hasNoCode(f));
  const stale = measured.filter((f) => modules.get(f)?.stale).length;
  const c = count(measured.flatMap((f) => modules.get(f)?.result.mutants ?? []));
  console.log(
    row(`${scope.name} (${measured.length}/${inScope.length})`, c, stale ? `  ${stale} stale` : ''),
  );
}
if (!args.has('--modules') && !args.has('--survivors'))
  console.log(
    '\n--modules for a line per module, --survivors for every surviving mutant, --write to merge the parts',
  );

if (args.has('--modules')) {
  console.log('');
  for (const scope of scopes)
    for (const file of listSources(scope.prefixes)) {
      const kept = modules.get(file);
      if (!kept)
        console.log(
          `${file.padEnd(44)} ${hasNoCode(file) ? 'no code to mutate (types and re-exports)' : 'not measured'}`,
        );
      else
        console.log(
          row(
            file,
            count(kept.result.mutants),
            `  ${kept.part}${kept.stale ? ' (stale: source changed since)' : ''}`,
          ),
        );
    }
}

if (args.has('--survivors')) {
  console.log('');
  for (const [file, { result }] of [...modules].sort(([a], [b]) => a.localeCompare(b))) {
    const lines = result.source.split('\n');
    for (const m of result.mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage'))
      console.log(
        `${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}${m.static ? ' (static)' : ''} ${JSON.stringify(m.replacement ?? '')}\n    ${(lines[m.location.start.line - 1] ?? '').trim().slice(0, 140)}`,
      );
  }
}

if (args.has('--write')) {
  /** @type {Report & Record<string, unknown>} */
  const merged = { ...(reports.at(-1)?.report ?? {}), files: {}, testFiles: {} };
  const testFiles = /** @type {Record<string, TestFile>} */ ({});
  // Test ids are only unique within one report: each part's are prefixed with its name.
  for (const [file, { part, result }] of modules) {
    const prefix = `${part}:`;
    merged.files[file] = {
      ...result,
      mutants: result.mutants.map((m) => ({
        ...m,
        ...(m.killedBy ? { killedBy: m.killedBy.map((id) => prefix + id) } : {}),
        ...(m.coveredBy ? { coveredBy: m.coveredBy.map((id) => prefix + id) } : {}),
      })),
    };
  }
  const usedParts = new Set([...modules.values()].map((m) => m.part));
  for (const { name, report } of reports) {
    if (!usedParts.has(name)) continue;
    for (const [file, tests] of Object.entries(report.testFiles ?? {})) {
      // A test file measured against other contents than today's cannot vouch for a mutant: its tests
      // are left out, and Stryker re-tests what they killed.
      if (tests.source !== undefined && tests.source !== readSource(file)) continue;
      const into = (testFiles[file] ??= {
        ...(tests.source === undefined ? {} : { source: tests.source }),
        tests: [],
      });
      into.tests.push(...tests.tests.map((t) => ({ ...t, id: `${name}:${t.id}` })));
    }
  }
  merged.testFiles = testFiles;
  writeFileSync(mainFile, JSON.stringify(merged, null, 2) + '\n');
  console.log(
    `\nmerged ${modules.size} modules from ${usedParts.size} result files into ${path.relative(root, mainFile)}`,
  );
}

/** @param {string[]} prefixes @returns {string[]} the TypeScript sources under them */
function listSources(prefixes) {
  /** @type {string[]} */
  const out = [];
  const walk = (/** @type {string} */ dir) => {
    if (!existsSync(path.join(root, dir))) return;
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const p of prefixes)
    if (p.endsWith('.ts')) {
      if (existsSync(path.join(root, p))) out.push(p);
    } else walk(p.replace(/\/$/, ''));
  return out.sort();
}
