import net from 'node:net';

import type { Profile } from '../config/document.js';
import { resolveGraphEndpoints } from '../mail/graph/endpoints.js';

/**
 * Opens and closes a TCP connection to the server a URL names. Some client libraries lose the socket
 * error on the way up (an NTLM handshake on a refused port surfaces as a TypeError), so a connection
 * test that could not tell why a server was unreachable asks the network itself.
 * Answers the socket error code, `ETIMEDOUT` when nothing answered in time, or undefined when it connected.
 */
export function probeTcp(url: string, timeoutMs = 5000): Promise<string | undefined> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(undefined);
  }
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (code: string | undefined) => {
      socket.destroy();
      resolve(code);
    };
    socket.setTimeout(timeoutMs, () => done('ETIMEDOUT'));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'ECONNRESET'));
  });
}

/** The first of the profile's servers (sign-in authority, then Graph; or the EWS endpoint) that cannot be reached, and why. */
export async function probeProfile(profile: Profile): Promise<string | undefined> {
  const urls =
    profile.type === 'ews'
      ? [profile.ewsUrl]
      : (({ authorityHost, graphEndpoint }) => [authorityHost, graphEndpoint])(
          resolveGraphEndpoints(profile),
        );
  for (const url of urls) {
    const code = await probeTcp(url);
    if (code) return code;
  }
  return undefined;
}
