import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import type { ApprovalResult } from '../app/approval.js';
import type { UndoResult } from '../app/undo.js';
import { isVerdictId } from '../verdicts/ids.js';
import { errorResponse, jsonResponse, urlFor } from './responses.js';

const maxComment = 500;
// Control characters would corrupt the audit row the comment ends up in.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

const notFound = (id: string) => errorResponse(404, 'VerdictNotFound', `There is no verdict "${id}".`);
const conflict = (code: string, message: string) => errorResponse(409, code, message);

/** The verdict id from the route and the optional `{ "comment": "…" }` body; a bad one is answered at once. */
export async function parseVerdictAction(
  request: HttpRequest,
): Promise<{ id: string; comment: string | undefined } | { response: HttpResponseInit }> {
  const id = request.params.id ?? '';
  if (!isVerdictId(id)) return { response: notFound(id) };
  const text = (await request.text()).trim();
  let comment: unknown;
  try {
    comment = text === '' ? undefined : (JSON.parse(text) as { comment?: unknown } | null)?.comment;
  } catch {
    return { response: errorResponse(400, 'InvalidJson', 'The body is not valid JSON.') };
  }
  if (comment === undefined) return { id, comment };
  if (typeof comment !== 'string' || comment.length > maxComment || controlCharacters.test(comment))
    return {
      response: errorResponse(400, 'ValidationFailed', 'The comment is not valid.', [
        {
          path: 'comment',
          message: `must be text of at most ${maxComment} characters, no control characters`,
        },
      ]),
    };
  return { id, comment };
}

export function approvalResponse(id: string, result: ApprovalResult): HttpResponseInit {
  switch (result.kind) {
    case 'notFound':
      return notFound(id);
    case 'notWaiting':
      return conflict(
        'NotAwaitingApproval',
        `Verdict ${id} is ${result.status}${result.decidedBy ? ` (decided by ${result.decidedBy})` : ''}; it is not awaiting approval.`,
      );
    case 'stillSimulating':
      return conflict(
        'SimulationRunning',
        `The simulation has finished ${result.done} of ${result.recipients} copies; decide once it is done.`,
      );
    case 'expired':
      return conflict(
        'ApprovalExpired',
        `The approval window closed at ${result.deadline}; the verdict was rejected.`,
      );
    case 'approved':
      return jsonResponse(200, {
        verdictId: id,
        status: result.verdict.status,
        approvedBy: result.verdict.approvedBy,
        queued: result.queued,
      });
    case 'rejected':
      return jsonResponse(200, { verdictId: id, status: 'rejected', rejectedBy: result.verdict.approvedBy });
  }
}

export function undoResponse(request: HttpRequest, id: string, result: UndoResult): HttpResponseInit {
  if (result.kind === 'notFound') return notFound(id);
  if (result.kind === 'nothingToUndo')
    return conflict('NothingToUndo', `Verdict ${id} cannot be undone: ${result.why}.`);
  return jsonResponse(result.created ? 202 : 200, {
    verdictId: result.undoVerdictId,
    undoOf: id,
    copies: result.copies,
    status: 'accepted',
    statusUrl: urlFor(request, `verdicts/${result.undoVerdictId}`),
  });
}
