import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const startScript = path.resolve(__dirname, '../../dist/local/start.js');

/** `node dist/local/start.js` (what npm start runs once built) as a child, its output collected. */
export class StartedRuntime {
  output = '';
  apiUrl = '';
  private constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
  }

  static async start(env: NodeJS.ProcessEnv): Promise<StartedRuntime> {
    if (!existsSync(startScript))
      throw new Error(
        'dist/local/start.js is missing: `npm test` builds first (pretest); run `npm run build`.',
      );
    const child = spawn(process.execPath, [startScript], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const runtime = new StartedRuntime(child);
    const ready = await runtime.waitFor(/ready: (http:\/\/localhost:\d+\/api)/);
    await runtime.waitFor(/Press Ctrl\+C to stop\./);
    runtime.apiUrl = (ready[1] ?? '').replace('localhost', '127.0.0.1');
    return runtime;
  }

  /** Waits until the output matches `pattern` (the runtime prints progress as it starts). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.output);
        if (!match) return;
        this.child.stdout?.off('data', check);
        this.child.off('exit', exited);
        resolve(match);
      };
      const exited = (code: number | null) =>
        reject(new Error(`runtime exited with ${code}:\n${this.output}`));
      this.child.stdout?.on('data', check);
      this.child.once('exit', exited);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/**
 * A port nothing listens on right now, for a test that must name its ports before the runtime starts.
 *
 * It is taken from below the kernel's ephemeral range (`ip_local_port_range`, 32768 and up on Linux).
 * A port from `listen(0)` would be free again once closed, and the kernel could give it to the next
 * `listen(0)` — Azurite's, in the same runtime — which then wins it (a CI run failed on exactly that).
 * Below the range no `listen(0)` is ever given it. Each vitest worker draws from its own slice, and a
 * port is handed out once per process, so two tests never pick the same one.
 */
export async function unusedPort(): Promise<number> {
  const slice = Number(process.env.VITEST_POOL_ID ?? '0') % portSlices;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = portBase + slice * portsPerSlice + Math.floor(Math.random() * portsPerSlice);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port below the ephemeral range after 50 tries');
}

const portBase = 20_000;
const portSlices = 8;
const portsPerSlice = 1_500;
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
