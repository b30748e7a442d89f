import { readFile } from 'node:fs/promises';

import { CliError, exitCodes } from '../api.js';
import { arity, type Context, print } from '../context.js';
import { diffDocuments, formatChange } from '../diff.js';
import { expandEnvironment } from '../envExpand.js';

export async function configApply(ctx: Context, args: string[]): Promise<number> {
  const [file = ''] = arity(args, ['file']);
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new CliError(
      e.code === 'ENOENT' ? `${file} does not exist.` : `${file} is not valid JSON: ${e.message}`,
      exitCodes.invalid,
    );
  }
  document = expandEnvironment(document, ctx.io.env);
  const currentResponse = await ctx.api.request('GET', 'config');
  if (currentResponse.status !== 200 && currentResponse.status !== 404) await ctx.api.ok('GET', 'config');
  const current =
    currentResponse.status === 200
      ? (currentResponse.body as { version: string; document: unknown })
      : undefined;
  const ifMatch = current ? { 'if-match': `"${current.version}"` } : undefined;
  const planned = (
    await ctx.api.ok('PUT', 'config?dryRun=true', {
      body: document,
      ...(ifMatch ? { headers: ifMatch } : {}),
    })
  ).body as { version: string; document: unknown };
  const changes = diffDocuments(current?.document, planned.document);
  const dryRun = ctx.flags.has('dry-run');
  if (!ctx.json) {
    if (changes.length === 0) ctx.io.stdout(`No changes: version ${planned.version} is already applied.\n`);
    else
      ctx.io.stdout(
        `${current ? `Changes to version ${current.version}:` : 'No configuration applied yet; applying:'}\n${changes.map((c) => `  ${formatChange(c)}\n`).join('')}`,
      );
  }
  if (dryRun || changes.length === 0) {
    if (ctx.json)
      print(ctx, {
        version: planned.version,
        previousVersion: current?.version,
        changed: changes.length > 0,
        applied: false,
        changes,
      });
    return exitCodes.ok;
  }
  const applied = (
    await ctx.api.ok('PUT', 'config', { body: document, ...(ifMatch ? { headers: ifMatch } : {}) })
  ).body as { version: string };
  if (ctx.json)
    print(ctx, {
      version: applied.version,
      previousVersion: current?.version,
      changed: true,
      applied: true,
      changes,
    });
  else ctx.io.stdout(`Applied version ${applied.version}${current ? ` (was ${current.version})` : ''}.\n`);
  return exitCodes.ok;
}

export async function configShow(ctx: Context): Promise<number> {
  const body = (await ctx.api.ok('GET', 'config')).body as {
    version: string;
    updatedAt?: string;
    document: unknown;
  };
  if (ctx.json) print(ctx, body);
  else {
    ctx.io.stderr(`version ${body.version}${body.updatedAt ? `, applied ${body.updatedAt}` : ''}\n`);
    print(ctx, body.document);
  }
  return exitCodes.ok;
}
