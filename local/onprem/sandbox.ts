import { FakeEwsServer } from './server.js';

export interface OnpremSandboxOptions {
  /** `DOMAIN\user` of the service account, which NTLM checks. */
  username: string;
  password: string;
  mailboxes: {
    address: string;
    messages: { internetMessageId: string; subject: string; sender: string; receivedAt?: string }[];
  }[];
  /** Serve https with this key and certificate; plain http on loopback otherwise. */
  tls?: { keyPem: string; certPem: string } | undefined;
  /** Default 0 (a free port). */
  port?: number;
}

/**
 * The on-premises half of the local runtime's hybrid estate: the fake EWS server over NTLM, with the
 * service account allowed to impersonate every seeded mailbox, as the ApplicationImpersonation role does.
 */
export async function startOnpremSandbox(options: OnpremSandboxOptions): Promise<FakeEwsServer> {
  const server = await FakeEwsServer.start({
    auth: 'ntlm',
    username: options.username,
    password: options.password,
    ...(options.tls ? { tls: { key: options.tls.keyPem, cert: options.tls.certPem } } : {}),
    port: options.port ?? 0,
  });
  for (const mailbox of options.mailboxes) {
    server.addMailbox(mailbox.address);
    for (const message of mailbox.messages) server.addMessage(mailbox.address, message);
  }
  return server;
}
