import { exitCodes } from '../api.js';
import { arity, type Context, print, str } from '../context.js';

export async function profilesTest(ctx: Context, args: string[]): Promise<number> {
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

export async function dlqList(ctx: Context): Promise<number> {
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

export async function dlqReplay(ctx: Context, ids: string[]): Promise<number> {
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
