import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';

/**
 * The identity and Key Vault clients only accept https hosts; this client lets them keep their real
 * https URLs while the request goes to a plain-http fake on loopback. The request is copied, never
 * mutated: the Key Vault challenge policy compares the original URL.
 */
export function rewritingClient(from: string, to: string): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest: (request) =>
      inner.sendRequest({ ...request, url: request.url.replace(from, to), allowInsecureConnection: true }),
  };
}
