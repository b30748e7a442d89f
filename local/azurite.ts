import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { threadCpuProgram } from './threadCpu.js';

const requireFromHere = createRequire(__filename);

/** Azurite's well-known development account key (public, documented by Microsoft). */
export const azuriteAccountKey =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  port: number;
  connectionString: string;
  /** CPU milliseconds Azurite's thread has used (Linux; NaN elsewhere): the bench reports it apart from the worker's. */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

type WorkerReport =
  | { kind: 'started'; address: string }
  | { kind: 'failed'; message: string }
  | { kind: 'stopped' }
  | { kind: 'cpu'; ms: number };

/*
 * The thread's program. Plain CommonJS evaluated by the worker, so it runs the same from the compiled
 * `dist/` and from the TypeScript sources the tests load; Azurite's modules are resolved here and passed in.
 */
const threadProgram = `
const { parentPort, workerData } = require('node:worker_threads');
// Azurite finds an entity with findOne({ PartitionKey, RowKey }); LokiJS narrows by the first key's
// index and scans the rest, so every point operation reads the whole partition (10,000 rows for a
// 10,000-recipient verdict), where Table Storage goes by the key. Asking by RowKey first keeps point
// operations as cheap as the service's. Nothing else about the emulator changes.
const { Collection } = require(workerData.lokiModule);
const findOne = Collection.prototype.findOne;
Collection.prototype.findOne = function (query) {
  if (query && typeof query === 'object' && 'PartitionKey' in query && 'RowKey' in query && Object.keys(query).length === 2)
    return findOne.call(this, { RowKey: query.RowKey, PartitionKey: query.PartitionKey });
  return findOne.call(this, query);
};
const TableServer = require(workerData.serverModule).default;
const TableConfiguration = require(workerData.configurationModule).default;
const server = new TableServer(new TableConfiguration(...workerData.configuration));
server.start().then(
  () => parentPort.postMessage({ kind: 'started', address: server.getHttpServerAddress() }),
  (error) => parentPort.postMessage({ kind: 'failed', message: String((error && error.message) || error) }),
);
${threadCpuProgram}
parentPort.on('message', async (message) => {
  if (message === 'cpu') return parentPort.postMessage({ kind: 'cpu', ms: threadCpuMs() });
  if (message !== 'stop') return;
  try {
    await server.close();
    if (workerData.inMemory) await server.clean();
  } finally {
    parentPort.postMessage({ kind: 'stopped' });
    parentPort.close();
  }
});
`;

/**
 * Azurite's Table service on a thread of its own in this process: in memory on a free port by default
 * (tests); with `dataDir` its data is kept on disk so a restart of the local runtime keeps every
 * result. On its own thread, the table service works alongside the functions instead of taking turns
 * with them on one event loop (SPEC §10: the worker's CPU is measured apart from it). Azurite has no
 * typed public API, so its compiled server classes are loaded directly.
 */
export async function startAzurite(
  options: { port?: number; dataDir?: string } = {},
): Promise<RunningAzurite> {
  let dbPath: string | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    dbPath = path.join(options.dataDir, '__azurite_db_table__.json');
  }
  // (host, port, keepAliveTimeout, metadataDBPath, enableDebugLog, enableAccessLog, accessLogWriteStream,
  //  debugLogFilePath, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, isMemoryPersistence)
  const configuration = [
    '127.0.0.1',
    options.port ?? 0,
    5,
    dbPath,
    false,
    false,
    undefined,
    undefined,
    false,
    false,
    '',
    '',
    '',
    undefined,
    false,
    dbPath === undefined,
  ];
  const worker = new Worker(threadProgram, {
    eval: true,
    workerData: {
      serverModule: requireFromHere.resolve('azurite/dist/src/table/TableServer'),
      configurationModule: requireFromHere.resolve('azurite/dist/src/table/TableConfiguration'),
      lokiModule: createRequire(requireFromHere.resolve('azurite/package.json')).resolve('lokijs'),
      configuration,
      inMemory: dbPath === undefined,
    },
  });
  // A process that forgets to stop it is not kept alive by it.
  worker.unref();
  const next = (): Promise<WorkerReport> =>
    new Promise((resolve, reject) => {
      const onMessage = (report: WorkerReport) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(report);
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        reject(error);
      };
      const onExit = (code: number) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        reject(new Error(`Azurite's thread ended (exit code ${code}) before it answered.`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
  const started = await next();
  if (started.kind !== 'started') {
    await worker.terminate();
    throw new Error(
      `Azurite's Table service did not start: ${started.kind === 'failed' ? started.message : started.kind}`,
    );
  }
  const port = Number(new URL(started.address).port);
  let stopping: Promise<void> | undefined;
  return {
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${azuriteAccountKey};TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
    async cpuMs() {
      const answer = next();
      worker.postMessage('cpu');
      const report = await answer;
      return report.kind === 'cpu' ? report.ms : Number.NaN;
    },
    stop() {
      stopping ??= (async () => {
        const stopped = next().catch(() => undefined);
        worker.postMessage('stop');
        // Closed and (on disk) saved: whatever timers Azurite leaves behind end with the thread.
        await stopped;
        await worker.terminate();
      })();
      return stopping;
    },
  };
}
