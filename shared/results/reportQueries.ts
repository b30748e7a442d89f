import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';

import { tables } from '../bindings.js';
import type { AppSettings } from '../config/settings.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { Page, RemediationRecord, ResultStore, VerdictRecord } from '../ports/results.js';
import type { ReportRange, ReportSource } from '../report/report.js';
import { newVerdictId } from '../verdicts/ids.js';
import type { TableConnection } from './tableResultStore.js';

/**
 * Verdict ids sort newest first by their inverted millisecond prefix, so a time range is a RowKey
 * range: ids at `to` are the smallest, ids at `from` the largest (`~` sorts after every hex digit).
 */
export function verdictKeyRange(range: ReportRange): { ge: string; lt: string } {
  return { ge: newVerdictId(range.to, () => ''), lt: `${newVerdictId(range.from, () => '')}~` };
}

/** The report's reads over the `Verdicts` table; rows come from the result store's own paging. */
export class TableReportQueries implements ReportSource {
  private readonly verdicts: TableClient;

  constructor(
    connection: TableConnection,
    private readonly store: Pick<ResultStore, 'listRemediations'>,
  ) {
    this.verdicts =
      'connectionString' in connection
        ? TableClient.fromConnectionString(connection.connectionString, tables.verdicts, connection.options)
        : new TableClient(connection.endpoint, tables.verdicts, connection.credential, connection.options);
  }

  async listVerdicts(range: ReportRange, limit: number, options?: CallOptions): Promise<VerdictRecord[]> {
    const { ge, lt } = verdictKeyRange(range);
    const found: VerdictRecord[] = [];
    try {
      const entities = this.verdicts.listEntities<Record<string, unknown>>({
        queryOptions: { filter: `PartitionKey eq 'verdict' and RowKey ge '${ge}' and RowKey lt '${lt}'` },
        abortSignal: options?.abortSignal,
      });
      for await (const e of entities) {
        found.push(fromVerdictColumns(e));
        if (found.length >= limit) break;
      }
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return [];
      throw new ClawbackError(
        'ConnectionError',
        `Table Storage could not list verdicts: ${ensureError(error).message.split('\n')[0] ?? ''}`,
        {
          retryable: true,
          cause: error,
        },
      );
    }
    return found;
  }

  listRemediations(
    verdictId: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<RemediationRecord>> {
    return this.store.listRemediations(verdictId, page, options);
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

function fromVerdictColumns(e: Record<string, unknown>): VerdictRecord {
  return {
    verdictId: str(e.rowKey) ?? '',
    source: str(e.Source) ?? '',
    eventId: str(e.EventId) ?? '',
    verdict: (str(e.Verdict) ?? 'malicious') as VerdictRecord['verdict'],
    previousVerdict: str(e.PreviousVerdict) as VerdictRecord['previousVerdict'],
    sha256: str(e.Sha256),
    filename: str(e.Filename),
    url: str(e.Url),
    action: str(e.Action) as VerdictRecord['action'],
    mode: str(e.Mode) as VerdictRecord['mode'],
    status: (str(e.Status) ?? 'accepted') as VerdictRecord['status'],
    recipients: num(e.Recipients),
    succeeded: num(e.Succeeded),
    failed: num(e.Failed),
    notFound: num(e.NotFound),
    done: num(e.Done),
    receivedAt: str(e.ReceivedAt) ?? '',
    completedAt: str(e.CompletedAt),
  };
}

/**
 * The same Table Storage connection the composition root uses: a connection string (Azurite,
 * local development) or the endpoint with the app's managed identity.
 */
export function tableConnectionFromSettings(settings: AppSettings): TableConnection {
  if (settings.CLAWBACK_TABLES_CONNECTION) {
    const local = /UseDevelopmentStorage=true|127\.0\.0\.1|localhost/i.test(
      settings.CLAWBACK_TABLES_CONNECTION,
    );
    return {
      connectionString: settings.CLAWBACK_TABLES_CONNECTION,
      options: { allowInsecureConnection: local },
    };
  }
  if (settings.CLAWBACK_TABLES_ENDPOINT)
    return {
      endpoint: settings.CLAWBACK_TABLES_ENDPOINT,
      credential: new DefaultAzureCredential(
        settings.AZURE_CLIENT_ID ? { managedIdentityClientId: settings.AZURE_CLIENT_ID } : {},
      ),
    };
  throw new ClawbackError('ConfigurationError', 'No Table Storage setting is present.');
}
