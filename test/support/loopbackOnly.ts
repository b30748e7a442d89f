import net from 'node:net';

/**
 * Tests touch nothing outside 127.0.0.1: any socket to another address fails at once, so a test that
 * would reach the internet (or Azure) fails loudly instead of hanging.
 */
// Called below with the socket as `this`, exactly as Node calls it.
// eslint-disable-next-line @typescript-eslint/unbound-method
const originalConnect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
function isLoopback(host: unknown): boolean {
  return (
    host === undefined ||
    host === 'localhost' ||
    host === '::1' ||
    (typeof host === 'string' && /^127\./.test(host))
  );
}
net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]) {
  const first = args[0] as { host?: string; path?: string } | number | string | undefined;
  const host =
    typeof first === 'object' && first !== null
      ? first.host
      : typeof args[1] === 'string'
        ? args[1]
        : undefined;
  const path = typeof first === 'object' && first !== null ? first.path : undefined;
  if (path === undefined && !isLoopback(host)) {
    throw new Error(`Test tried to connect to ${String(host)}; tests may only reach 127.0.0.1.`);
  }
  return originalConnect.apply(this, args);
};
