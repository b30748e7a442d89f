import { writeFile } from 'node:fs/promises';

import type { Report } from '../../shared/report/report.js';
import { CliError, exitCodes } from '../api.js';
import { type Context, countsLine, print, str, summaryGroups } from '../context.js';

const threatsWithoutAll = 5;

function arrow(earlier: number, later: number): string {
  return `${earlier} → ${later}${later > earlier ? ' ▲' : later < earlier ? ' ▼' : ''}`;
}

/** The report: counts, trend and the top failure reasons first; every failure and threat with --all. */
export async function report(ctx: Context, args: string[]): Promise<number> {
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
  const body = (await ctx.api.ok('GET', `report${suffix}`)).body as Report;
  if (ctx.json) {
    print(ctx, body);
    return exitCodes.ok;
  }
  const groups = body.failureGroups ?? [];
  const threats = ctx.all ? body.threats : body.threats.slice(0, threatsWithoutAll);
  const lines = [
    `Report ${body.range.from} – ${body.range.to}: ${body.verdicts.total} verdicts, ${body.totals.rows} recipient copies`,
    ...(body.truncated ? ['  More verdicts fell in this range than one report reads; narrow it.'] : []),
    `  By status:  ${countsLine(body.totals.byStatus)}`,
    `  By reason:  ${countsLine(body.totals.byReason)}`,
    `  By profile: ${countsLine(body.totals.byProfile)}`,
    `  By action:  ${countsLine(body.totals.byAction)}`,
    ...(body.trend
      ? [
          `  Trend (first half → second half of the range): copies ${arrow(body.trend.copies.earlier, body.trend.copies.later)}, failed ${arrow(body.trend.failed.earlier, body.trend.failed.later)}`,
        ]
      : []),
    `Top failures by reason (${body.failuresListed} failed):`,
    ...(groups.length
      ? groups
          .slice(0, ctx.all ? groups.length : summaryGroups)
          .map(
            (g) =>
              `  ${g.reason} ×${g.count}, e.g. ${g.example.recipient}${g.example.profile ? ` via ${g.example.profile}` : ''}${g.example.detail ? `: ${g.example.detail}` : ''}`,
          )
      : ['  none']),
    `Threats (${body.threats.length}):`,
    ...threats.map(
      (t) =>
        `  ${t.sha256 ?? t.url ?? ''}${t.filenames.length ? ` (${t.filenames.join(', ')})` : ''}: ${t.verdicts} verdicts, ${countsLine(t.copies)}`,
    ),
    'Domains without a profile:',
    ...(body.unmappedDomains.length
      ? body.unmappedDomains.map((d) => `  ${d.domain} (${d.rows})`)
      : ['  none']),
  ];
  if (ctx.all && body.failures.length > 0)
    lines.push(
      `Failed recipients (${body.failures.length} of ${body.failuresListed}):`,
      ...body.failures.map(
        (f) =>
          `  ${f.recipient}: ${f.reason}${f.profile ? ` via ${f.profile}` : ''}${f.detail ? ` — ${f.detail}` : ''}`,
      ),
    );
  else if (body.failuresListed > 0 || body.threats.length > threats.length)
    lines.push('Every failed recipient and threat: --all; everything as JSON: --json.');
  ctx.io.stdout(`${lines.join('\n')}\n`);
  return exitCodes.ok;
}
