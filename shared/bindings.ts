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

/** Timer schedules (NCRONTAB, six fields). */
export const timers = {
  /** Deletes audit, ledger and cursor rows older than `settings.retentionDays`. */
  retention: '0 17 3 * * *',
  /** Rejects verdicts whose approval window (`settings.approvalHours`) has passed. */
  approvalExpiry: '0 */10 * * * *',
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
  /** Append-only: who decided or changed what (issue 13). */
  audit: 'Audit',
} as const;
