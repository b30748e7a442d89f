import type { SandboxMailbox, SandboxMessage } from '../../local/sandbox/types.js';
import type { InMemoryMailBackend } from '../fakes/inMemoryMailBackend.js';

export interface Copies {
  /** How many copies of the message the mailbox holds. Default 1. */
  copies?: number;
  /** Copy i lies in `folders[i % folders.length]`. Default: every copy in the inbox. */
  folders?: string[];
}

const folderOf = (folders: string[], i: number): string => folders[i % folders.length] ?? 'inbox';

/**
 * Mailbox contents for the sandbox tenant (`startSandboxTenant({ mailboxes })`) and for the in-memory
 * backend: a mailbox holding copies of one message, spread over named folders in turn.
 */
export const MailboxMother = {
  sandbox(
    address: string,
    internetMessageId: string,
    {
      copies = 1,
      folders = ['inbox'],
      message = {},
    }: Copies & {
      message?: Omit<SandboxMessage, 'internetMessageId' | 'folder'>;
    } = {},
  ): SandboxMailbox {
    return {
      address,
      messages: Array.from({ length: copies }, (_, i) => ({
        internetMessageId,
        ...message,
        folder: folderOf(folders, i),
      })),
    };
  },

  /** The same contents delivered into an in-memory backend; returns the backend for chaining. */
  deliver(
    backend: InMemoryMailBackend,
    address: string,
    internetMessageId: string,
    { copies = 1, folders = ['inbox'] }: Copies = {},
  ): InMemoryMailBackend {
    for (let i = 0; i < copies; i++) backend.deliver(address, internetMessageId, folderOf(folders, i));
    return backend;
  },
};
