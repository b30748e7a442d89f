/**
 * Routes, auth levels, queue names and connection setting names, defined once. The function
 * registrations in functions/ use them, the local runtime reads the registrations, and the
 * infrastructure tests compare them with infra/.
 */
export const queues = {
  verdicts: { name: 'verdicts', sessions: false },
  remediations: { name: 'remediations', sessions: true },
} as const;

/** App setting prefix of the Service Bus connection (`ServiceBusConnection` / `ServiceBusConnection__fullyQualifiedNamespace`). */
export const serviceBusConnection = 'ServiceBusConnection';

export const routes = {
  ingestVerdict: { route: 'verdicts', methods: ['POST'], authLevel: 'function' },
  getVerdict: { route: 'verdicts/{id}', methods: ['GET'], authLevel: 'function' },
  listVerdicts: { route: 'verdicts', methods: ['GET'], authLevel: 'function' },
  health: { route: 'health', methods: ['GET'], authLevel: 'anonymous' },
  recordDeliveries: { route: 'deliveries', methods: ['POST'], authLevel: 'function' },
  getConfig: { route: 'config', methods: ['GET'], authLevel: 'admin' },
  putConfig: { route: 'config', methods: ['PUT'], authLevel: 'admin' },
  testProfile: { route: 'profiles/{name}/test', methods: ['POST'], authLevel: 'admin' },
  report: { route: 'report', methods: ['GET'], authLevel: 'function' },
  listDeadLetters: { route: 'deadletters', methods: ['GET'], authLevel: 'admin' },
  replayDeadLetters: { route: 'deadletters/replay', methods: ['POST'], authLevel: 'admin' },
  approveVerdict: { route: 'verdicts/{id}/approve', methods: ['POST'], authLevel: 'admin' },
  rejectVerdict: { route: 'verdicts/{id}/reject', methods: ['POST'], authLevel: 'admin' },
  undoVerdict: { route: 'verdicts/{id}/undo', methods: ['POST'], authLevel: 'admin' },
} as const;

/** Service Bus redelivers a message this many times before dead-lettering it (matches infra). */
export const maxDeliveryCount = 10;

export const tables = {
  verdicts: 'Verdicts',
  remediations: 'Remediations',
  deliveries: 'Deliveries',
  verdictEvents: 'VerdictEvents',
  /** Every copy Clawback changed, by threat: what a clean verdict restores. */
  remediatedCopies: 'RemediatedCopies',
  config: 'Configuration',
  /** One row per pull connector: the last window fully read, and its last error. */
  sourceCursors: 'SourceCursors',
  /** Append-only: who decided or changed what (issue 13). */
  audit: 'Audit',
} as const;

/**
 * Timers (NCRONTAB, six fields): the one that runs every due pull connector (SPEC §9; each source's
 * own interval is kept in its cursor), and issue 13's retention and approval expiry.
 */
export const timers = {
  pullSources: { schedule: '0 * * * * *' },
  /** Deletes audit, ledger and cursor rows older than `settings.retentionDays`. */
  retention: { schedule: '0 17 3 * * *' },
  /** Rejects verdicts whose approval window (`settings.approvalHours`) has passed. */
  approvalExpiry: { schedule: '0 */10 * * * *' },
} as const;
