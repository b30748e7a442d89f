// @ts-check
/**
 * `npm run package` (after `npm run build`): writes the zip that `az functionapp deploy` uploads to the
 * Flex Consumption app. It holds exactly what the Functions host loads: host.json, a package.json without
 * dev dependencies or scripts, the compiled functions and shared code, and the production dependencies
 * listed in package-lock.json. No tests, no local runtime, no local settings, no TypeScript sources.
 *
 * Usage: node scripts/package.mjs [--out <file.zip>]   (default dist/clawback.zip)
 *
 * The zip is written here (deflate from node:zlib) rather than by a zip tool, so packaging needs nothing
 * but Node and gives the same bytes for the same input: timestamps are fixed.
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Compiled folders the host needs; dist/local (the local runtime) and dist/test stay out. */
const compiledFolders = ['dist/functions', 'dist/shared'];

/** Type declarations, TypeScript sources and source maps are never loaded at run time. */
const notShipped = /\.(?:[cm]?ts|map|tsbuildinfo)$/;

function parseArgs(argv) {
  let out = path.join(root, 'dist', 'clawback.zip');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = path.resolve(argv[++i]);
    else throw new Error(`Unknown argument ${argv[i]}. Usage: node scripts/package.mjs [--out <file.zip>]`);
  }
  return { out };
}

/** Every file under `dir`, as paths relative to the repository root with forward slashes. */
function walk(dir, keep) {
  const files = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...walk(rel, keep));
    else if (keep(rel)) files.push(rel);
  }
  return files;
}

function compiledFiles() {
  const functionsDir = path.join(root, 'dist', 'functions');
  if (!existsSync(functionsDir) || !readdirSync(functionsDir).some((f) => f.endsWith('.js'))) {
    throw new Error('dist/functions has no compiled functions: run `npm run build` first.');
  }
  return compiledFolders
    .filter((dir) => existsSync(path.join(root, dir)))
    .flatMap((dir) => walk(dir, (rel) => rel.endsWith('.js')));
}

/**
 * Production packages no server path loads: @azure/identity depends on @azure/msal-browser only for its
 * browser flows (its package.json `browser` map), which Node never requires; it is 20 MB of the zip.
 */
const unusedOnServer = new Set(['node_modules/@azure/msal-browser']);

/**
 * Production packages from the lockfile (entries npm marks `dev` or `devOptional` are left out). A
 * package's own nested node_modules are skipped while walking it: the nested packages are lockfile
 * entries of their own, so a nested dev-only package cannot slip in with its parent.
 */
function productionDependencyFiles() {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const packages = Object.entries(lock.packages ?? {})
    .filter(([key, meta]) => key.startsWith('node_modules/') && !meta.dev && !meta.devOptional && !meta.link)
    .map(([key]) => key)
    .filter((key) => !unusedOnServer.has(key))
    // Optional packages for other platforms are in the lockfile but not on disk.
    .filter((key) => existsSync(path.join(root, key)));
  const files = [];
  for (const pkg of packages) {
    const walkPackage = (dir) => {
      for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (entry.name !== 'node_modules') walkPackage(rel);
        } else if ((entry.isFile() || entry.isSymbolicLink()) && !notShipped.test(entry.name)) {
          if (statSync(path.join(root, rel)).isFile()) files.push(rel);
        }
      }
    };
    walkPackage(pkg);
  }
  return files;
}

/** package.json as the host reads it: `main` finds the functions; nothing for development. */
function deployedPackageJson() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const { name, version, private: isPrivate, description, type, main, engines, dependencies } = pkg;
  return Buffer.from(
    `${JSON.stringify({ name, version, private: isPrivate, description, type, main, engines, dependencies }, null, 2)}\n`,
  );
}

const crcTable = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data) {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** 1980-01-01 00:00, the DOS epoch: fixed so the same input gives the same zip. */
const dosTime = 0;
const dosDate = (1 << 5) | 1;
const utf8Flag = 0x0800;
const maxEntries = 0xffff;
const maxSize = 0xffffffff;

/**
 * Writes a classic (non-ZIP64) archive; entries are `[name, load]` in the order given, each loaded only
 * when written so the whole package is never in memory at once.
 */
function writeZip(file, entries) {
  if (entries.length >= maxEntries)
    throw new Error(`Too many files for a zip without ZIP64: ${entries.length}`);
  const fd = openSync(file, 'w');
  const central = [];
  let offset = 0;
  const write = (buffer) => {
    writeSync(fd, buffer);
    offset += buffer.length;
  };
  try {
    for (const [name, load] of entries) {
      const data = load();
      const nameBytes = Buffer.from(name, 'utf8');
      const deflated = deflateRawSync(data, { level: 9 });
      const stored = deflated.length >= data.length;
      const body = stored ? data : deflated;
      const crc = crc32(data);
      if (data.length > maxSize || offset > maxSize)
        throw new Error(`Package too large for a zip without ZIP64 at ${name}`);

      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(utf8Flag, 6);
      local.writeUInt16LE(stored ? 0 : 8, 8);
      local.writeUInt16LE(dosTime, 10);
      local.writeUInt16LE(dosDate, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(nameBytes.length, 26);
      local.writeUInt16LE(0, 28);

      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below is honoured
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(utf8Flag, 8);
      header.writeUInt16LE(stored ? 0 : 8, 10);
      header.writeUInt16LE(dosTime, 12);
      header.writeUInt16LE(dosDate, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(body.length, 20);
      header.writeUInt32LE(data.length, 24);
      header.writeUInt16LE(nameBytes.length, 28);
      header.writeUInt32LE((0o100644 << 16) >>> 0, 38);
      header.writeUInt32LE(offset, 42);
      central.push(header, nameBytes);

      write(local);
      write(nameBytes);
      write(body);
    }
    const centralStart = offset;
    for (const part of central) write(part);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(offset - centralStart, 12);
    end.writeUInt32LE(centralStart, 16);
    write(end);
  } finally {
    closeSync(fd);
  }
  return offset;
}

function main() {
  const { out } = parseArgs(process.argv.slice(2));
  /** @type {(rel: string) => [string, () => Buffer]} */
  const fromRepo = (rel) => [rel, () => readFileSync(path.join(root, rel))];
  const entries = [
    fromRepo('host.json'),
    /** @type {[string, () => Buffer]} */ (['package.json', deployedPackageJson]),
    ...compiledFiles().map(fromRepo),
    ...productionDependencyFiles().map(fromRepo),
  ];
  const bytes = writeZip(out, entries);
  console.log(
    `Wrote ${path.relative(process.cwd(), out) || out}: ${entries.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB`,
  );
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
