import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { testConnection } from '../shared/connection/testConnection.js';
import { ensureError } from '../shared/errors.js';
import { errorResponse, jsonResponse } from '../shared/http/responses.js';
import { emailAddress } from '../shared/verdicts/schema.js';

const bodySchema = z.object({ mailbox: emailAddress }).strict();

/**
 * POST /api/profiles/{name}/test {mailbox} (admin) — signs in with the profile, opens the mailbox and
 * reads its root folder. Always 200 when the test ran: `ok` says whether it worked, `code`, `message`
 * and `remedy` what went wrong and what to do.
 */
export async function testProfile(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const name = request.params.name ?? '';
  let body: unknown;
  try {
    body = JSON.parse((await request.text()) || '{}');
  } catch (error) {
    return errorResponse(400, 'InvalidJson', `The body is not valid JSON: ${ensureError(error).message}`);
  }
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success)
    return errorResponse(
      400,
      'ValidationFailed',
      'Send {"mailbox": "<address>"} naming a mailbox to test against.',
      [{ path: 'mailbox', message: parsed.error.issues[0]?.message ?? 'is required' }],
    );
  const services = getServices();
  const stored = await services.configStore.get();
  const profile = stored?.document.profiles.find((p) => p.name === name);
  if (!stored || !profile)
    return errorResponse(
      404,
      'ProfileNotFound',
      `There is no profile "${name}" in the applied configuration.`,
    );
  const result = await testConnection(profile, parsed.data.mailbox, {
    config: stored.document,
    backendFor: (p, c) => services.backendFor(p, c),
  });
  context.log(`test connection profile=${profile.name} ok=${result.ok} code=${result.code}`);
  return jsonResponse(200, result);
}

app.http('testProfile', {
  ...routes.testProfile,
  methods: [...routes.testProfile.methods],
  handler: testProfile,
});
