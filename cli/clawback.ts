#!/usr/bin/env node
import { ensureError } from '../shared/errors.js';
import { ApiClient, CliError, exitCodes, isCliError } from './api.js';
import { dlqList, dlqReplay, profilesTest } from './commands/admin.js';
import { configApply, configShow } from './commands/config.js';
import { report } from './commands/report.js';
import { verdictsList, verdictsShow } from './commands/verdicts.js';
import { type CliIo, type Context, str } from './context.js';
import { verdictCommand, verdictCommandOptions, verdictCommandsUsage } from './verdictCommands.js';

export type { CliIo } from './context.js';

const usage = `Usage: clawback <command> [options]

Commands:
  config apply <file> [--dry-run]   show the difference to the applied configuration, then apply the file
  config show                       print the applied configuration document
  profiles test <name> <mailbox>    sign in with a profile and read the mailbox's root folder
  verdicts show <id> [--no-wait] [--all]
                                    a verdict: counts by status and profile, failures grouped by reason
                                    (every row with --all); waits with a progress bar while it runs
  verdicts list [--status <s>] [--from <iso>] [--to <iso>] [--limit <n>] [--all]
                                    recent verdicts, newest first, with counts by status
  report [--from <iso>] [--to <iso>] [--html <file>] [--all]
                                    counts, trend, top failures by reason, threats, unmapped domains
                                    (default: last 24 h; every failed recipient with --all)
${verdictCommandsUsage}
  dlq list [--queue <name>]         dead-lettered messages with their reasons
  dlq replay [--queue <name>] [<messageId>...]
                                    put dead letters back on their queue (all of them without ids)

Options:
  --url <url>    the app (default $CLAWBACK_URL, else http://localhost:$CLAWBACK_PORT, else http://localhost:7071)
  --key <key>    Functions key sent as x-functions-key (default $CLAWBACK_KEY); config, profiles and dlq need the admin key
  --json         machine-readable output on stdout (everything, never a summary)
  --all          every row instead of the summary
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
  'status',
  'limit',
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
    } else if (
      ['json', 'help', 'dry-run', 'no-wait', 'all', ...verdictCommandOptions.switches].includes(name)
    )
      flags.set(name, true);
    else throw new CliError(`Unknown option --${name}.`, exitCodes.usage);
  }
  return { positional, flags };
}

function defaultUrl(env: NodeJS.ProcessEnv): string {
  if (env.CLAWBACK_URL) return env.CLAWBACK_URL;
  const port = env.CLAWBACK_PORT?.trim();
  return `http://localhost:${port && port !== '0' ? port : '7071'}`;
}

/** Runs one command; returns the exit code. Never calls process.exit, so tests run it in process. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${ensureError(error).message}\n\n${usage}\n`);
    return exitCodes.usage;
  }
  const { positional, flags } = parsed;
  if (flags.has('help') || positional.length === 0) {
    (flags.has('help') ? io.stdout : io.stderr)(`${usage}\n`);
    return flags.has('help') ? exitCodes.ok : exitCodes.usage;
  }
  const api = new ApiClient(
    str(flags, 'url') ?? defaultUrl(io.env),
    str(flags, 'key') ?? io.env.CLAWBACK_KEY,
    io.fetch,
  );
  const ctx: Context = { api, io, flags, json: flags.has('json'), all: flags.has('all') };
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
      case 'verdicts list':
        return await verdictsList(ctx, args);
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
    if (isCliError(error)) {
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
