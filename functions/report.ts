import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { errorResponse, jsonResponse } from '../shared/http/responses.js';
import { renderReportHtml } from '../shared/report/html.js';
import { buildReport, reportLimits } from '../shared/report/report.js';

function parseTime(value: string | null): Date | undefined | 'invalid' {
  if (value === null || value.trim() === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? 'invalid' : new Date(ms);
}

/**
 * GET /api/report?from=&to= — totals by status, reason, action and profile, threats with their file
 * names, failed recipients, domains without a profile. Default range: the last 24 hours. JSON unless
 * the caller asks for `text/html`, which gets a page with a bar chart of outcomes over time.
 */
export async function report(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const now = new Date();
  const to = parseTime(request.query.get('to'));
  const from = parseTime(request.query.get('from'));
  const details: { path: string; message: string }[] = [];
  if (to === 'invalid') details.push({ path: 'to', message: 'must be an ISO 8601 date-time' });
  if (from === 'invalid') details.push({ path: 'from', message: 'must be an ISO 8601 date-time' });
  if (details.length > 0)
    return errorResponse(400, 'ValidationFailed', 'The report range is not valid.', details);
  const end = (to as Date | undefined) ?? now;
  const start = (from as Date | undefined) ?? new Date(end.getTime() - 24 * 3_600_000);
  if (start.getTime() >= end.getTime())
    return errorResponse(400, 'ValidationFailed', 'The report range is not valid.', [
      { path: 'from', message: 'must be before to' },
    ]);
  if (end.getTime() - start.getTime() > reportLimits.maxRangeDays * 86_400_000)
    return errorResponse(400, 'ValidationFailed', 'The report range is not valid.', [
      { path: 'from', message: `the range may span at most ${reportLimits.maxRangeDays} days` },
    ]);

  const result = await buildReport(getServices().store, { from: start, to: end }, { now });
  const accept = request.headers.get('accept') ?? '';
  if (/text\/html/i.test(accept) && !/application\/json/i.test(accept.split(',')[0] ?? ''))
    return {
      status: 200,
      body: renderReportHtml(result),
      headers: { 'content-type': 'text/html; charset=utf-8' },
    };
  return jsonResponse(200, result);
}

app.http('report', { ...routes.report, methods: [...routes.report.methods], handler: report });
