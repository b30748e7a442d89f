import { CliError, exitCodes } from '../api.js';
import {
  arity,
  type Context,
  countBy,
  countsLine,
  groupFailures,
  print,
  str,
  summaryGroups,
} from '../context.js';

interface Row {
  recipient: string;
  status: string;
  reason?: string;
  detail?: string;
  profile?: string;
}

interface VerdictBody {
  verdict: {
    verdictId: string;
    status: string;
    recipients: number;
    done: number;
    action?: string;
    mode?: string;
    note?: string;
  };
  remediations: Row[];
  next?: string;
}

/** Rows listed one by one without --all up to this many; beyond it the summary stands alone. */
const smallVerdict = 10;

function bar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 0 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

const apiPath = (next: string) => next.slice(next.indexOf('/api/') + 5);

function rowLine(r: Row): string {
  return `  ${r.status.padEnd(17)} ${r.recipient}${r.profile ? ` via ${r.profile}` : ''}${r.reason ? ` — ${r.reason}: ${r.detail ?? ''}` : ''}\n`;
}

/** A verdict and its rows: counts by status, profile and reason first; each row with --all. */
export async function verdictsShow(ctx: Context, args: string[]): Promise<number> {
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
  for (let next = body.next; next;) {
    const page = (await ctx.api.ok('GET', apiPath(next))).body as VerdictBody;
    rows.push(...page.remediations);
    next = page.next;
  }
  const v = body.verdict;
  if (ctx.json) {
    print(ctx, { verdict: v, remediations: rows });
    return running(body) || v.status === 'completedWithFailures' ? exitCodes.failed : exitCodes.ok;
  }
  const failed = rows.filter((r) => r.status === 'failed' || r.status === 'partiallyRestored');
  const groups = groupFailures(failed);
  const lines = [
    `Verdict ${v.verdictId}: ${v.status}${v.action ? `, ${v.action}` : ''}${v.mode ? ` (${v.mode})` : ''}`,
    ...(v.note ? [`  Note: ${v.note}`] : []),
    `  ${rows.length} rows: ${countsLine(countBy(rows, (r) => r.status))}`,
    `  By profile: ${countsLine(countBy(rows, (r) => r.profile ?? '(none)'))}`,
  ];
  if (groups.length > 0) {
    lines.push(`  Failures by reason (${failed.length}):`);
    for (const g of groups.slice(0, summaryGroups))
      lines.push(
        `    ${g.reason} ×${g.count}, e.g. ${g.example.recipient}${g.example.profile ? ` via ${g.example.profile}` : ''}${g.example.detail ? `: ${g.example.detail}` : ''}`,
      );
    if (groups.length > summaryGroups) lines.push(`    … and ${groups.length - summaryGroups} more reasons`);
  }
  ctx.io.stdout(`${lines.join('\n')}\n`);
  if (ctx.all || rows.length <= smallVerdict) ctx.io.stdout(rows.map(rowLine).join(''));
  else ctx.io.stdout(`  Every row: --all; everything as JSON: --json.\n`);
  return running(body) || v.status === 'completedWithFailures' ? exitCodes.failed : exitCodes.ok;
}

interface VerdictSummary {
  verdictId: string;
  status: string;
  verdict?: string;
  source?: string;
  action?: string;
  receivedAt?: string;
  recipients?: number;
  failed?: number;
}

interface VerdictListBody {
  verdicts: VerdictSummary[];
  next?: string;
}

const listedWithoutAll = 20;

/** Recent verdicts, newest first: counts by status, then the newest few (every one with --all). */
export async function verdictsList(ctx: Context, args: string[]): Promise<number> {
  if (args.length > 0)
    throw new CliError(`verdicts list takes no arguments (got ${args.join(' ')}).`, exitCodes.usage);
  const query = new URLSearchParams();
  for (const name of ['status', 'from', 'to'] as const) {
    const value = str(ctx.flags, name);
    if (value) query.set(name, value);
  }
  const limit = str(ctx.flags, 'limit');
  if (limit) query.set('limit', limit);
  let body = (await ctx.api.ok('GET', `verdicts${query.size ? `?${query.toString()}` : ''}`))
    .body as VerdictListBody;
  const verdicts = [...body.verdicts];
  while ((ctx.all || ctx.json) && body.next) {
    body = (await ctx.api.ok('GET', apiPath(body.next))).body as VerdictListBody;
    verdicts.push(...body.verdicts);
  }
  if (ctx.json) {
    print(ctx, { verdicts });
    return exitCodes.ok;
  }
  const shown = ctx.all ? verdicts : verdicts.slice(0, listedWithoutAll);
  const more = verdicts.length > shown.length || (!ctx.all && body.next !== undefined);
  ctx.io.stdout(
    `${verdicts.length}${body.next && !ctx.all ? '+' : ''} verdicts: ${countsLine(countBy(verdicts, (v) => v.status))}\n` +
      shown
        .map(
          (v) =>
            `  ${(v.receivedAt ?? '').slice(0, 19).padEnd(19)} ${v.verdictId}  ${v.status.padEnd(21)} ${v.verdict ?? ''} ${v.action ?? ''} from ${v.source ?? '?'}, ${v.recipients ?? 0} rows${v.failed ? `, ${v.failed} failed` : ''}\n`,
        )
        .join('') +
      (more ? '  Every verdict: --all; everything as JSON: --json.\n' : ''),
  );
  return exitCodes.ok;
}
