#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';

import { ApiClient, CliError, exitCodes } from './api.js';
import { diffDocuments, formatChange } from './diff.js';
import { verdictCommand, verdictCommandOptions, verdictCommandsUsage } from './verdictCommands.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Progress bars only on a terminal. */
  isTty: boolean;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const usage = `Usage: clawback <command> [options]

Commands:
  config apply <file> [--dry-run]   show the difference to the applied configuration, then apply the file
  config show                       print the applied configuration document
  profiles test <name> <mailbox>    sign in with a profile and read the mailbox's root folder
  verdicts show <id> [--no-wait]    a verdict and its rows; waits with a progress bar while it runs
${verdictCommandsUsage}
  report [--from <iso>] [--to <iso>] [--html <file>]
                                    outcomes, threats, failures and unmapped domains (default: last 24 h)
  dlq list [--queue <name>]         dead-lettered messages with their reasons
  dlq replay [--queue <name>] [<messageId>...]
                                    put dead letters back on their queue (all of them without ids)

Options:
  --url <url>    the app (default $CLAWBACK_URL or http://localhost:7071)
  --key <key>    Functions key sent as x-functions-key (default $CLAWBACK_KEY); config, profiles and dlq need the admin key
  --json         machine-readable output on stdout
  --help         this text

Exit codes: 0 ok, 1 the command reports a failure, 2 usage, 3 invalid input, 4 not found,
5 version conflict, 6 unauthorized, 7 app unreachable or failing.`;

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

const valued = new Set([
  'url',
  'key',
  'from',
  'to',
  'html',
  'queue',
  'timeout',
  ...verdictCommandOptions.valued,
]);

function parse(argv: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (valued.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new CliError(`--${name} needs a value.`, exitCodes.usage);
      flags.set(name, value);
    } else if (['json', 'help', 'dry-run', 'no-wait', ...verdictCommandOptions.switches].includes(name))
      flags.set(name, true);
    else throw new CliError(`Unknown option --${name}.`, exitCodes.usage);
  }
  return { positional, flags };
}

const str = (flags: Map<string, string | true>, name: string): string | undefined => {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
};

/** Runs one command; returns the exit code. Never calls process.exit, so tests run it in process. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${usage}\n`);
    return exitCodes.usage;
  }
  const { positional, flags } = parsed;
  if (flags.has('help') || positional.length === 0) {
    (flags.has('help') ? io.stdout : io.stderr)(`${usage}\n`);
    return flags.has('help') ? exitCodes.ok : exitCodes.usage;
  }
  const api = new ApiClient(
    str(flags, 'url') ?? io.env.CLAWBACK_URL ?? 'http://localhost:7071',
    str(flags, 'key') ?? io.env.CLAWBACK_KEY,
    io.fetch,
  );
  const ctx: Context = { api, io, flags, json: flags.has('json') };
  const [group, command, ...args] = positional;
  try {
    const handled = await verdictCommand(ctx, group, command, args);
    if (handled !== undefined) return handled;
    switch (`${group} ${command ?? ''}`.trim()) {
      case 'config apply':
        return await configApply(ctx, args);
      case 'config show':
        return await configShow(ctx);
      case 'profiles test':
        return await profilesTest(ctx, args);
      case 'verdicts show':
        return await verdictsShow(ctx, args);
      case 'dlq list':
        return await dlqList(ctx);
      case 'dlq replay':
        return await dlqReplay(ctx, args);
      default:
        if (group === 'report')
          return await report(
            ctx,
            [command, ...args].filter((a): a is string => a !== undefined),
          );
        throw new CliError(`Unknown command "${positional.join(' ')}".\n\n${usage}`, exitCodes.usage);
    }
  } catch (error) {
    if (error instanceof CliError) {
      if (ctx.json)
        io.stdout(
          `${JSON.stringify({ error: { message: error.message, exitCode: error.exitCode, details: error.details } })}\n`,
        );
      io.stderr(
        `clawback: ${error.message}\n${error.details.map((d) => `  ${d.path}: ${d.message}\n`).join('')}`,
      );
      return error.exitCode;
    }
    io.stderr(`clawback: unexpected error: ${(error as Error).message}\n`);
    return exitCodes.unavailable;
  }
}

interface Context {
  api: ApiClient;
  io: CliIo;
  flags: Map<string, string | true>;
  json: boolean;
}

const print = (ctx: Context, value: unknown) => ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);

function arity(args: string[], names: string[]): string[] {
  if (args.length !== names.length)
    throw new CliError(`Expected ${names.map((n) => `<${n}>`).join(' ')}.`, exitCodes.usage);
  return args;
}

async function configApply(ctx: Context, args: string[]): Promise<number> {
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

async function configShow(ctx: Context): Promise<number> {
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

async function profilesTest(ctx: Context, args: string[]): Promise<number> {
  const [name = '', mailbox = ''] = arity(args, ['name', 'mailbox']);
  const result = (
    await ctx.api.ok('POST', `profiles/${encodeURIComponent(name)}/test`, { body: { mailbox } })
  ).body as {
    ok: boolean;
    code: string;
    message: string;
    remedy: string;
    detail?: string;
    backend: string;
  };
  if (ctx.json) print(ctx, result);
  else {
    ctx.io.stdout(
      `${result.ok ? 'OK' : 'FAILED'} ${result.code} (${name}, ${result.backend})\n  ${result.message}\n`,
    );
    if (!result.ok)
      ctx.io.stdout(`  Remedy: ${result.remedy}\n${result.detail ? `  Detail: ${result.detail}\n` : ''}`);
  }
  return result.ok ? exitCodes.ok : exitCodes.failed;
}

interface VerdictBody {
  verdict: {
    verdictId: string;
    status: string;
    recipients: number;
    done: number;
    succeeded: number;
    failed: number;
    notFound: number;
    action?: string;
    mode?: string;
  };
  remediations: { recipient: string; status: string; reason?: string; detail?: string; profile?: string }[];
  next?: string;
}

function bar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 0 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

async function verdictsShow(ctx: Context, args: string[]): Promise<number> {
  const [id = ''] = arity(args, ['id']);
  const sleep = ctx.io.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + Number(str(ctx.flags, 'timeout') ?? '300') * 1000;
  const path = `verdicts/${encodeURIComponent(id)}?pageSize=1000`;
  let body = (await ctx.api.ok('GET', path)).body as VerdictBody;
  const running = (b: VerdictBody) => b.verdict.status === 'accepted' || b.verdict.status === 'fannedOut';
  const showBar = ctx.io.isTty && !ctx.json;
  while (running(body) && !ctx.flags.has('no-wait') && Date.now() < deadline) {
    if (showBar)
      ctx.io.stderr(`\r${bar(body.verdict.done, body.verdict.recipients)} ${body.verdict.status}   `);
    await sleep(500);
    body = (await ctx.api.ok('GET', path)).body as VerdictBody;
  }
  if (showBar)
    ctx.io.stderr(`\r${bar(body.verdict.done, body.verdict.recipients)} ${body.verdict.status}   \n`);
  const rows = [...body.remediations];
  let next = body.next;
  while (next) {
    const page = (await ctx.api.ok('GET', next.slice(next.indexOf('/api/') + 5))).body as VerdictBody;
    rows.push(...page.remediations);
    next = page.next;
  }
  const v = body.verdict;
  if (ctx.json) print(ctx, { verdict: v, remediations: rows });
  else {
    ctx.io.stdout(
      `Verdict ${v.verdictId}: ${v.status}${v.action ? `, ${v.action}` : ''}${v.mode ? ` (${v.mode})` : ''}\n` +
        `  ${v.recipients} rows: ${v.succeeded} succeeded, ${v.notFound} not found, ${v.failed} failed\n` +
        rows
          .map(
            (r) =>
              `  ${r.status.padEnd(17)} ${r.recipient}${r.profile ? ` via ${r.profile}` : ''}${r.reason ? ` — ${r.reason}: ${r.detail ?? ''}` : ''}\n`,
          )
          .join(''),
    );
  }
  return running(body) || v.status === 'completedWithFailures' ? exitCodes.failed : exitCodes.ok;
}

interface ReportBody {
  range: { from: string; to: string };
  verdicts: { total: number };
  totals: {
    rows: number;
    byStatus: Record<string, number>;
    byReason: Record<string, number>;
    byAction: Record<string, number>;
    byProfile: Record<string, number>;
  };
  threats: {
    sha256?: string;
    url?: string;
    filenames: string[];
    verdicts: number;
    copies: Record<string, number>;
  }[];
  failures: { recipient: string; reason: string; detail?: string }[];
  failuresListed: number;
  unmappedDomains: { domain: string; rows: number }[];
}

async function report(ctx: Context, args: string[]): Promise<number> {
  if (args.length > 0)
    throw new CliError(`report takes no arguments (got ${args.join(' ')}).`, exitCodes.usage);
  const query = new URLSearchParams();
  const from = str(ctx.flags, 'from');
  const to = str(ctx.flags, 'to');
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  const html = str(ctx.flags, 'html');
  if (html) {
    const page = await ctx.api.ok('GET', `report${suffix}`, { accept: 'text/html' });
    await writeFile(html, page.text);
    ctx.io.stderr(`Wrote ${html}\n`);
  }
  const body = (await ctx.api.ok('GET', `report${suffix}`)).body as ReportBody;
  if (ctx.json) {
    print(ctx, body);
    return exitCodes.ok;
  }
  const counts = (c: Record<string, number>) =>
    Object.entries(c)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const lines = [
    `Report ${body.range.from} – ${body.range.to}: ${body.verdicts.total} verdicts, ${body.totals.rows} recipient copies`,
    `  By status:  ${counts(body.totals.byStatus)}`,
    `  By reason:  ${counts(body.totals.byReason)}`,
    `  By action:  ${counts(body.totals.byAction)}`,
    `  By profile: ${counts(body.totals.byProfile)}`,
    'Threats:',
    ...body.threats.map(
      (t) =>
        `  ${t.sha256 ?? t.url ?? ''}${t.filenames.length ? ` (${t.filenames.join(', ')})` : ''}: ${t.verdicts} verdicts, ${counts(t.copies)}`,
    ),
    `Failed recipients (${body.failuresListed}):`,
    ...body.failures.map((f) => `  ${f.recipient}: ${f.reason}${f.detail ? ` — ${f.detail}` : ''}`),
    'Domains without a profile:',
    ...(body.unmappedDomains.length
      ? body.unmappedDomains.map((d) => `  ${d.domain} (${d.rows})`)
      : ['  none']),
  ];
  ctx.io.stdout(`${lines.join('\n')}\n`);
  return exitCodes.ok;
}

async function dlqList(ctx: Context): Promise<number> {
  const queue = str(ctx.flags, 'queue');
  const body = (await ctx.api.ok('GET', `deadletters${queue ? `?queue=${encodeURIComponent(queue)}` : ''}`))
    .body as {
    deadLetters: {
      queue: string;
      messageId: string;
      reason: string;
      description: string;
      deliveryCount: number;
    }[];
  };
  if (ctx.json) print(ctx, body);
  else if (body.deadLetters.length === 0) ctx.io.stdout('No dead letters.\n');
  else
    ctx.io.stdout(
      body.deadLetters
        .map(
          (d) =>
            `${d.queue}  ${d.messageId}  ${d.reason}: ${d.description} (delivered ${d.deliveryCount}×)\n`,
        )
        .join(''),
    );
  return exitCodes.ok;
}

async function dlqReplay(ctx: Context, ids: string[]): Promise<number> {
  const queues = str(ctx.flags, 'queue') ? [str(ctx.flags, 'queue') as string] : ['verdicts', 'remediations'];
  const results: { queue: string; replayed: string[]; missing: string[] }[] = [];
  for (const queue of queues) {
    const body = (
      await ctx.api.ok('POST', 'deadletters/replay', {
        body: { queue, ...(ids.length ? { messageIds: ids } : {}) },
      })
    ).body as { queue: string; replayed: string[]; missing: string[] };
    results.push(body);
  }
  const missing = ids.filter((id) => results.every((r) => !r.replayed.includes(id)));
  if (ctx.json) print(ctx, { results, missing });
  else {
    for (const r of results) ctx.io.stdout(`${r.queue}: replayed ${r.replayed.length}\n`);
    if (missing.length) ctx.io.stdout(`Not found: ${missing.join(', ')}\n`);
  }
  return missing.length > 0 ? exitCodes.notFound : exitCodes.ok;
}

if (require.main === module) {
  void run(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    isTty: process.stderr.isTTY === true,
  }).then((code) => {
    process.exitCode = code;
  });
}
