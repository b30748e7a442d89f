import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { decideApproval } from '../shared/app/approval.js';
import { undoVerdict } from '../shared/app/undo.js';
import { callerOf } from '../shared/audit/caller.js';
import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { errorResponse } from '../shared/http/responses.js';
import { approvalResponse, parseVerdictAction, undoResponse } from '../shared/http/verdictActions.js';

/** POST /api/verdicts/{id}/approve|reject (admin, optional comment): decide a verdict awaiting approval. */
function decide(decision: 'approve' | 'reject') {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const parsed = await parseVerdictAction(request);
    if ('response' in parsed) return parsed.response;
    const services = getServices();
    const stored = await services.configStore.get();
    if (!stored)
      return errorResponse(
        503,
        'ConfigurationMissing',
        'No configuration has been applied yet; apply one first.',
      );
    const who = callerOf(request.headers, services.settings.CLAWBACK_RUNTIME);
    const result = await decideApproval(parsed.id, decision, who, parsed.comment, {
      ...services,
      config: stored.document,
      checkDelayMs: services.settings.CLAWBACK_COMPLETION_CHECK_MS,
    });
    return approvalResponse(parsed.id, result);
  };
}

export const approveVerdict = decide('approve');
export const rejectVerdict = decide('reject');

/** POST /api/verdicts/{id}/undo (admin, optional comment): restore what the verdict moved, as a new verdict. */
export async function undoVerdictHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const parsed = await parseVerdictAction(request);
  if ('response' in parsed) return parsed.response;
  const services = getServices();
  const who = callerOf(request.headers, services.settings.CLAWBACK_RUNTIME);
  const deps = { ...services, checkDelayMs: services.settings.CLAWBACK_COMPLETION_CHECK_MS };
  return undoResponse(request, parsed.id, await undoVerdict(parsed.id, who, parsed.comment, deps));
}

app.http('approveVerdict', {
  ...routes.approveVerdict,
  methods: [...routes.approveVerdict.methods],
  handler: approveVerdict,
});
app.http('rejectVerdict', {
  ...routes.rejectVerdict,
  methods: [...routes.rejectVerdict.methods],
  handler: rejectVerdict,
});
app.http('undoVerdict', {
  ...routes.undoVerdict,
  methods: [...routes.undoVerdict.methods],
  handler: undoVerdictHttp,
});
