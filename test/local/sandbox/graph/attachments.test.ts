import { ClientCertificateCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import { rewritingClient } from '../../../support/identity.js';

const tenantId = '7c3e9a10-4b2d-4e8f-9a61-2d5c8b0e1f34';
const clientId = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
const appCert = createAppCertificate('clawback-sandbox-attachments');
const mailbox = 'alice@contoso.com';
const attachedMime = [
  'From: bob@contoso.com',
  'Subject: Quarterly bonus',
  'Message-ID: <inner@contoso.com>',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: application/octet-stream; name="bonus.xlsm"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('MZ not really a dropper').toString('base64'),
  '--b--',
  '',
].join('\r\n');

let tenant: SandboxTenant;
let token = '';

interface AttachmentJson {
  '@odata.type': string;
  id: string;
  name: string;
  contentType: string | null;
  size: number;
  isInline: boolean;
  contentBytes?: string;
}

async function graph(path: string): Promise<Response> {
  return fetch(`${tenant.graphEndpoint}/v1.0${path}`, { headers: { Authorization: `Bearer ${token}` } });
}

/** The REST id of the one message with that internetMessageId. */
const idOf = (internetMessageId: string) =>
  tenant.mailbox(mailbox).messages.find((m) => m.internetMessageId === internetMessageId)!.id;
const messagePath = (internetMessageId: string) =>
  `/users/${mailbox}/messages/${encodeURIComponent(idOf(internetMessageId))}`;

async function attachmentsOf(internetMessageId: string): Promise<AttachmentJson[]> {
  const response = await graph(`${messagePath(internetMessageId)}/attachments`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { value: AttachmentJson[] }).value;
}

beforeAll(async () => {
  tenant = await startSandboxTenant({
    apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
    mailboxes: [
      {
        address: mailbox,
        messages: [
          {
            internetMessageId: '<fw-as-attachment@contoso.com>',
            folder: 'sentitems',
            itemAttachments: [{ name: 'Quarterly bonus', mime: attachedMime }],
          },
          {
            internetMessageId: '<both@contoso.com>',
            attachments: [{ name: 'notes.txt', contentBase64: Buffer.from('notes').toString('base64') }],
            itemAttachments: [{ name: 'Quarterly bonus', mime: attachedMime }],
          },
        ],
      },
    ],
  });
  const credential = new ClientCertificateCredential(
    tenantId,
    clientId,
    { certificate: appCert.pemBundle },
    {
      authorityHost: tenant.publicAuthorityHost,
      disableInstanceDiscovery: true,
      httpClient: rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    },
  );
  token = (await credential.getToken('https://graph.microsoft.com/.default')).token;
});
afterAll(() => tenant.close());

describe('sandbox tenant: item attachments', () => {
  it('lists an attached message as an itemAttachment without content, after the file attachments', async () => {
    const [file, item] = await attachmentsOf('<both@contoso.com>');
    expect(file).toMatchObject({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: 'notes.txt',
      contentBytes: Buffer.from('notes').toString('base64'),
    });
    expect(item).toEqual({
      '@odata.type': '#microsoft.graph.itemAttachment',
      id: expect.any(String) as string,
      lastModifiedDateTime: expect.any(String) as string,
      name: 'Quarterly bonus',
      contentType: null,
      size: Buffer.byteLength(attachedMime),
      isInline: false,
    });
    expect(item!.id).not.toBe(file!.id);
  });

  it('says a message whose only attachment is an item has attachments', async () => {
    const response = await graph(`${messagePath('<fw-as-attachment@contoso.com>')}?$select=hasAttachments`);
    expect(((await response.json()) as { hasAttachments: boolean }).hasAttachments).toBe(true);
  });

  it('serves an item attachment’s MIME as $value, and the attachment itself without it', async () => {
    const [item] = await attachmentsOf('<fw-as-attachment@contoso.com>');
    const path = `${messagePath('<fw-as-attachment@contoso.com>')}/attachments/${encodeURIComponent(item!.id)}`;
    const before = tenant.requests.length;

    const value = await graph(`${path}/$value`);
    expect(value.status).toBe(200);
    expect(value.headers.get('content-type')).toBe('message/rfc822');
    expect(await value.text()).toBe(attachedMime);

    const single = await graph(path);
    expect(single.status).toBe(200);
    expect(await single.json()).toMatchObject({
      '@odata.type': '#microsoft.graph.itemAttachment',
      id: item!.id,
    });

    expect(tenant.requests.slice(before).map((r) => [r.operation, r.mailbox, r.status])).toEqual([
      ['attachmentMime', mailbox, 200],
      ['attachment', mailbox, 200],
    ]);
    expect(tenant.operationCounts(mailbox)).toMatchObject({ attachmentMime: 1, attachment: 1 });
  });

  it('answers an unknown attachment id, and an attachment of an unknown message, with 404 ErrorItemNotFound', async () => {
    for (const path of [
      `${messagePath('<fw-as-attachment@contoso.com>')}/attachments/AAMkAGnope%3D/$value`,
      `${messagePath('<fw-as-attachment@contoso.com>')}/attachments/AAMkAGnope%3D`,
      `/users/${mailbox}/messages/AAMkAGI2nope%3D/attachments/AAMkAGnope%3D/$value`,
    ]) {
      const response = await graph(path);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ErrorItemNotFound');
    }
  });

  it('refuses anything but GET on an attachment', async () => {
    const [item] = await attachmentsOf('<fw-as-attachment@contoso.com>');
    const response = await fetch(
      `${tenant.graphEndpoint}/v1.0${messagePath('<fw-as-attachment@contoso.com>')}/attachments/${encodeURIComponent(item!.id)}`,
      { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } },
    );
    expect(response.status).toBe(405);
  });

  it('keeps the item attachments of a copied message', async () => {
    const response = await fetch(
      `${tenant.graphEndpoint}/v1.0${messagePath('<fw-as-attachment@contoso.com>')}/copy`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ destinationId: 'inbox' }),
      },
    );
    expect(response.status).toBe(201);
    const copy = (await response.json()) as { id: string };
    const listed = await graph(`/users/${mailbox}/messages/${encodeURIComponent(copy.id)}/attachments`);
    const [item] = ((await listed.json()) as { value: AttachmentJson[] }).value;
    const value = await graph(
      `/users/${mailbox}/messages/${encodeURIComponent(copy.id)}/attachments/${encodeURIComponent(item!.id)}/$value`,
    );
    expect(await value.text()).toBe(attachedMime);
  });
});
