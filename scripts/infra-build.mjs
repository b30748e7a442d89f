// @ts-check
/**
 * `npm run infra:build` (and `.ci/run`): compiles infra/main.bicep and every infra/*.bicepparam with the
 * real Bicep compiler and linter into .infra-build/, and fails on any diagnostic, warnings included. The
 * infrastructure tests (test/infra/) read the compiled ARM JSON from there.
 *
 * The Bicep CLI is the NuGet package Azure.Bicep.CommandLine.<rid>, pinned in tools/bicep/bicep.csproj and
 * restored with `dotnet restore` only when it is not already in the NuGet packages folder.
 *
 * Usage: node scripts/infra-build.mjs
 *   BICEP=<path to bicep>   use that executable instead (e.g. the one `az bicep install` put in ~/.azure/bin)
 *   NUGET_PACKAGES=<dir>    the NuGet packages folder, when it is not ~/.nuget/packages
 */
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const infraDir = path.join(root, 'infra');
const outDir = path.join(root, '.infra-build');
const csproj = path.join(root, 'tools', 'bicep', 'bicep.csproj');

/** Runtime identifier of the Bicep CLI package for this machine. */
function rid() {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  if (process.platform === 'darwin') return `osx-${arch}`;
  if (process.platform === 'win32') return `win-${arch}`;
  return `linux-${arch}`;
}

function pinnedVersion() {
  const match = /<BicepVersion>([^<]+)<\/BicepVersion>/.exec(readFileSync(csproj, 'utf8'));
  if (!match) throw new Error(`${csproj} does not pin <BicepVersion>`);
  return match[1];
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  if (result.error) throw new Error(`${command} could not be started: ${result.error.message}`);
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** The bicep executable: $BICEP, else the pinned NuGet package, restored first if it is missing. */
function bicepExecutable() {
  if (process.env.BICEP) return { path: process.env.BICEP, restored: false };
  const version = pinnedVersion();
  const id = `azure.bicep.commandline.${rid()}`;
  const packages = process.env.NUGET_PACKAGES || path.join(os.homedir(), '.nuget', 'packages');
  const exe = path.join(packages, id, version, 'tools', process.platform === 'win32' ? 'bicep.exe' : 'bicep');
  let restored = false;
  if (!existsSync(exe)) {
    console.log(`infra: restoring Azure.Bicep.CommandLine.${rid()} ${version} from NuGet`);
    const major = /^(\d+)\./.exec(run('dotnet', ['--version']).output.trim())?.[1] ?? '10';
    const restore = run('dotnet', [
      'restore',
      csproj,
      `-p:BicepRid=${rid()}`,
      `-p:BicepTfm=net${major}.0`,
      '--nologo',
    ]);
    if (restore.status !== 0 || !existsSync(exe)) {
      throw new Error(`dotnet restore did not provide ${exe}:\n${restore.output}`);
    }
    restored = true;
  }
  // NuGet extracts without the execute bit for group and others.
  if ((statSync(exe).mode & 0o111) !== 0o111) chmodSync(exe, 0o755);
  return { path: exe, restored };
}

/** Compiler and linter diagnostics in bicep's output: `<file>(line,col) : Warning <code>: <text>`. */
function diagnostics(output) {
  return output.split(/\r?\n/).filter((line) => /\) : (Error|Warning|Info) [\w-]+:/.test(line));
}

function main() {
  const bicep = bicepExecutable();
  // Built into a folder of its own and moved into place, so concurrent builds never expose half a file.
  const tmp = path.join(outDir, `.tmp-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const jobs = [
    { args: ['build', path.join(infraDir, 'main.bicep')], out: 'main.json' },
    ...readdirSync(infraDir)
      .filter((f) => f.endsWith('.bicepparam'))
      .sort()
      .map((f) => ({
        args: ['build-params', path.join(infraDir, f)],
        out: `${f.replace(/\.bicepparam$/, '')}.parameters.json`,
      })),
  ];
  const found = [];
  try {
    for (const job of jobs) {
      const result = run(bicep.path, [...job.args, '--outfile', path.join(tmp, job.out)]);
      const lines = diagnostics(result.output);
      if (result.status !== 0 && lines.length === 0) lines.push(result.output.trim());
      found.push(...lines);
    }
    if (found.length === 0) {
      for (const job of jobs) renameSync(path.join(tmp, job.out), path.join(outDir, job.out));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const version = run(bicep.path, ['--version']).output.trim();
  if (found.length > 0) {
    console.error([...new Set(found)].join('\n'));
    console.error(`infra: ${new Set(found).size} diagnostics (${version}); warnings fail the build too`);
    process.exit(1);
  }
  console.log(
    `infra: compiled main.bicep and ${jobs.length - 1} parameter file(s) into .infra-build/ with 0 errors, 0 warnings (${version})`,
  );
}

main();
