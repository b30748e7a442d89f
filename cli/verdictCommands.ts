import { type ApiClient, CliError, exitCodes } from './api.js';

/** What the verdict commands need of the CLI: the API, output, and the parsed options. */
export interface VerdictCommandContext {
  api: ApiClient;
  io: { stdout: (text: string) => void };
  flags: Map<string, string | true>;
  json: boolean;
}

export const verdictCommandsUsage = `  verdicts approve <id> [--comment <text>]
                                    remediate exactly what the simulation of a verdict awaiting approval found
  verdicts reject <id> [--comment <text>]
                                    end a verdict awaiting approval; no mailbox is changed
  verdicts undo <id> [--comment <text>]
                                    restore what the verdict moved (a new verdict; watch it with verdicts show)
  verdicts list --waiting           verdicts awaiting approval, with their simulated copies per action and folder`;

/** Options these commands add to the CLI's parser. */
export const verdictCommandOptions = { valued: ['comment'], switches: ['waiting'] } as const;

interface Waiting {
  verdictId: string;
  source: string;
  action?: string;
  receivedAt: string;
  recipients: number;
  simulatedByAction: Record<string, number>;
  simulatedByFolder: Record<string, number>;
}

const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/**
 * `verdicts approve|reject|undo <id>` and `verdicts list --waiting`. Returns undefined for any other
 * command, so the CLI's own dispatch carries on.
 */
export async function verdictCommand(
  ctx: VerdictCommandContext,
  group: string | undefined,
  command: string | undefined,
  args: string[],
): Promise<number | undefined> {
  if (group !== 'verdicts') return undefined;
  const comment = ctx.flags.get('comment');
  const body = typeof comment === 'string' ? { comment } : {};
  const print = (value: unknown) => ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  const idOf = () => {
    if (args.length !== 1) throw new CliError('Expected <id>.', exitCodes.usage);
    return encodeURIComponent(args[0] ?? '');
  };
  switch (command) {
    case 'approve':
    case 'reject': {
      const result = (await ctx.api.ok('POST', `verdicts/${idOf()}/${command}`, { body })).body as Record<
        string,
        unknown
      >;
      if (ctx.json) print(result);
      else if (command === 'approve')
        ctx.io.stdout(
          `Approved ${args[0]} as ${String(result.approvedBy)}: ${String(result.queued)} simulated copies queued. Watch it with: clawback verdicts show ${args[0]}\n`,
        );
      else ctx.io.stdout(`Rejected ${args[0]} as ${String(result.rejectedBy)}; no mailbox was changed.\n`);
      return exitCodes.ok;
    }
    case 'undo': {
      const result = (await ctx.api.ok('POST', `verdicts/${idOf()}/undo`, { body })).body as {
        verdictId: string;
        copies: number;
      };
      if (ctx.json) print(result);
      else
        ctx.io.stdout(
          `Undo of ${args[0]} is verdict ${result.verdictId}: ${result.copies} copies to restore. Watch it with: clawback verdicts show ${result.verdictId}\n`,
        );
      return exitCodes.ok;
    }
    case 'list': {
      if (!ctx.flags.has('waiting')) return undefined;
      const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
      const report = (await ctx.api.ok('GET', `report?from=${encodeURIComponent(from)}`)).body as {
        waiting?: Waiting[];
      };
      const waiting = report.waiting ?? [];
      if (ctx.json) print(waiting);
      else if (waiting.length === 0) ctx.io.stdout('No verdict is awaiting approval.\n');
      else
        ctx.io.stdout(
          waiting
            .map(
              (w) =>
                `${w.verdictId}  ${w.source}  ${w.recipients} recipients, received ${w.receivedAt}\n  would apply: ${counts(w.simulatedByAction)}\n  found in:    ${counts(w.simulatedByFolder)}\n`,
            )
            .join(''),
        );
      return exitCodes.ok;
    }
    default:
      return undefined;
  }
}
