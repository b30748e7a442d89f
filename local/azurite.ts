import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const requireFromHere = createRequire(__filename);

/** Azurite's well-known development account key (public, documented by Microsoft). */
export const azuriteAccountKey =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  port: number;
  connectionString: string;
  stop(): Promise<void>;
}

interface AzuriteTableServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}

type TableServerCtor = new (config: unknown) => AzuriteTableServer;
type TableConfigurationCtor = new (...args: unknown[]) => unknown;

/**
 * Azurite's Table service in this process. In memory on a free port by default (tests); with
 * `dataDir` its data is kept on disk so a restart of the local runtime keeps every result.
 * Azurite has no typed public API, so its compiled server classes are loaded directly.
 */
export async function startAzurite(
  options: { port?: number; dataDir?: string } = {},
): Promise<RunningAzurite> {
  const TableServer = (requireFromHere('azurite/dist/src/table/TableServer') as { default: TableServerCtor })
    .default;
  const TableConfiguration = (
    requireFromHere('azurite/dist/src/table/TableConfiguration') as { default: TableConfigurationCtor }
  ).default;
  let dbPath: string | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    dbPath = path.join(options.dataDir, '__azurite_db_table__.json');
  }
  // (host, port, keepAliveTimeout, metadataDBPath, enableDebugLog, enableAccessLog, accessLogWriteStream,
  //  debugLogFilePath, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, isMemoryPersistence)
  const config = new TableConfiguration(
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
  );
  const server = new TableServer(config);
  await server.start();
  const port = Number(new URL(server.getHttpServerAddress()).port);
  return {
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${azuriteAccountKey};TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
    async stop() {
      await server.close();
      if (dbPath === undefined) await server.clean();
    },
  };
}
