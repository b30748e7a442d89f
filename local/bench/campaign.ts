import { queues } from '../../shared/bindings.js';
import type { BareLocalRuntime } from '../runtime.js';
import { sampleVerdict } from '../sampleTenant.js';
import type { SandboxMailbox } from '../sandbox/types.js';
import { graphEconomy, type HttpRequestCounter, mainThreadCpuMs } from './measure.js';
import type { CampaignResult } from './report.js';
import type { TenantThread } from './tenantThread.js';

export interface CampaignPlan {
  name: string;
  messageId: string;
  recipients: string[];
  copiesPerRecipient: number;
}

/** The sandbox mailboxes a plan needs: each recipient holding its copies (a fifth of them filed away). */
export function mailboxesFor(plan: CampaignPlan): SandboxMailbox[] {
  return plan.recipients.map((address) => ({
    address,
    messages: Array.from({ length: plan.copiesPerRecipient }, (_, i) => ({
      internetMessageId: plan.messageId,
      subject: 'Campaign',
      ...(i % 5 === 4 ? { folder: 'Invoices' } : {}),
    })),
  }));
}

export interface CampaignDeps {
  runtime: BareLocalRuntime;
  tenant: TenantThread;
  tableRequests: HttpRequestCounter;
  /** Secret reads so far (the runtime's file secret source). */
  secretReads: () => number;
  progress: (line: string) => void;
}

/**
 * One verdict for the plan's recipients through the whole local pipeline — HTTP ingest, fan-out,
 * per-mailbox sessions, the Graph backend against the sandbox, Azurite — timed from the POST until
 * every queue is idle. Progress comes from the queue, so measuring adds no table reads.
 */
export async function runCampaign(plan: CampaignPlan, deps: CampaignDeps): Promise<CampaignResult> {
  const { runtime } = deps;
  const api = runtime.apiUrl.replace('localhost', '127.0.0.1');
  await deps.tenant.resetCounters();
  deps.tableRequests.reset();
  const secretsBefore = deps.secretReads();
  const before = runtime.queue.stats(queues.remediations.name).completed;
  const body = {
    ...sampleVerdict(`bench-${plan.name}-${Date.now()}`),
    messages: [{ internetMessageId: plan.messageId, recipients: plan.recipients }],
  };
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  const tableCpu = await runtime.tableCpuMs();
  const tenantCpu = await deps.tenant.cpuMs();
  const started = performance.now();
  const response = await fetch(`${api}/verdicts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 202)
    throw new Error(`bench: the verdict was answered ${response.status}: ${await response.text()}`);
  const { statusUrl } = (await response.json()) as { statusUrl: string };
  const ticker = setInterval(() => {
    const done = runtime.queue.stats(queues.remediations.name).completed - before;
    deps.progress(
      `  ${plan.name}: ${done}/${plan.recipients.length} mailboxes done after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 2000);
  // Remediated: every mailbox's message has been handled and nothing of the remediations queue is left.
  // The verdict's bookkeeping (its completion check, paced by the rows) ends later: every queue idle.
  let remediatedAt: number | undefined;
  const watch = setInterval(() => {
    const q = runtime.queue.stats(queues.remediations.name);
    if (q.completed - before >= plan.recipients.length && q.active + q.scheduled + q.inFlight === 0) {
      remediatedAt ??= performance.now();
      clearInterval(watch);
    }
  }, 5);
  try {
    await runtime.queue.idle();
  } finally {
    clearInterval(ticker);
    clearInterval(watch);
  }
  const idleAt = performance.now();
  const seconds = ((remediatedAt ?? idleAt) - started) / 1000;
  const completedSeconds = (idleAt - started) / 1000;
  const used = process.cpuUsage(cpu);
  const workerCpuMs = mainThreadCpuMs() - mainCpu;
  const tableCpuMs = (await runtime.tableCpuMs()) - tableCpu;
  const tenantCpuMs = (await deps.tenant.cpuMs()) - tenantCpu;
  const { requests, tokenRequests } = await deps.tenant.snapshot();
  const tableOperations = deps.tableRequests.requests;
  const economy = graphEconomy(requests);
  const status = (await (
    await fetch(statusUrl.replace('localhost', '127.0.0.1') + '?pageSize=1')
  ).json()) as {
    verdict?: { status?: string; succeeded?: number; failed?: number };
  };
  return {
    name: plan.name,
    recipients: plan.recipients.length,
    copies: plan.recipients.length * plan.copiesPerRecipient,
    seconds,
    completedSeconds,
    succeeded: status.verdict?.succeeded ?? 0,
    failed: status.verdict?.failed ?? 0,
    graphOperations: economy.operations,
    roundTripsPerMailbox: economy.roundTripsPerMailbox,
    throttled: economy.throttled,
    tableOperations,
    tokenRequests,
    secretReads: deps.secretReads() - secretsBefore,
    cpuMs: (used.user + used.system) / 1000,
    workerCpuMs,
    tableCpuMs,
    tenantCpuMs,
  };
}
