import type { z } from 'zod';

import {
  deliveredMessageSchema,
  emailAddress,
  internetMessageIdSchema,
  threatSchema,
  verdictChangeSchema,
} from '../verdicts/schema.js';

export interface Problem {
  path: string;
  message: string;
}

/**
 * `notes` lists what an adapter deliberately left out (blocked mail, untriaged alerts, events with no
 * verdict), so a caller can say why a body produced fewer verdict changes than it had events.
 */
export type NormaliseResult =
  { ok: true; changes: unknown[]; notes: Problem[] } | { ok: false; details: Problem[] };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Vendors differ in the case of some keys (Proofpoint `threatID` / `threatId`): an exact match wins, then any case. */
export function field(record: unknown, name: string): unknown {
  if (!isRecord(record)) return undefined;
  if (name in record) return record[name];
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** A non-empty trimmed string; numbers count too, because ids arrive as either. */
export function text(record: unknown, name: string): string | undefined {
  const value = field(record, name);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A non-empty string exactly as sent: a subject is matched as it stands. */
export function verbatim(record: unknown, name: string): string | undefined {
  const value = field(record, name);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

export function lowerText(record: unknown, name: string): string | undefined {
  return text(record, name)?.toLowerCase();
}

export function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** Addresses arrive as a string or an array of strings; the valid ones, lower case, each once. */
export function addresses(...values: unknown[]): string[] {
  const found = new Set<string>();
  for (const value of values)
    for (const item of list(value)) {
      const parsed = emailAddress.safeParse(item);
      if (parsed.success) found.add(parsed.data);
    }
  return [...found];
}

/**
 * The canonical `<id@host>` form Graph and EWS match on. Proofpoint sends ids without the brackets,
 * and sometimes an empty string; an id that cannot be matched is undefined rather than a guess.
 */
export function canonicalMessageId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const bare = value.trim().replace(/^<+|>+$/g, '');
  if (bare === '') return undefined;
  const id = `<${bare}>`;
  return internetMessageIdSchema.safeParse(id).success ? id : undefined;
}

/** The value when the schema takes it, else undefined: optional details never sink a verdict. */
function fitting(schema: z.ZodTypeAny, value: string | undefined): string | undefined {
  return value !== undefined && schema.safeParse(value).success ? value : undefined;
}

const messageFields = deliveredMessageSchema.shape;
const threatFields = threatSchema.innerType().shape;

export const fits = {
  subject: (v: string | undefined) => fitting(messageFields.subject, v),
  receivedAt: (v: string | undefined) => fitting(messageFields.receivedAt, isoTime(v)),
  observedAt: (v: string | undefined) => fitting(verdictChangeSchema.shape.observedAt, isoTime(v)),
  threatName: (v: string | undefined) => fitting(threatFields.name, v),
  filename: (v: string | undefined) => fitting(threatFields.filename, v),
};

export function isSha256(value: string | undefined): value is string {
  return value !== undefined && /^[0-9a-fA-F]{64}$/.test(value);
}

export function isAbsoluteUrl(value: string | undefined): value is string {
  return value !== undefined && threatFields.url.safeParse(value).success;
}

/** Sources write timestamps with or without an offset; the schema needs one, so a parseable time becomes UTC. */
function isoTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/(Z|[+-]\d{2}:\d{2})$/i.test(value)) return value;
  const ms = Date.parse(`${value}Z`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The object without its undefined members: optional fields are left out, never sent as undefined. */
export function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

export function pathOf(...parts: (string | number)[]): string {
  const path = parts
    .filter((p) => p !== '$')
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
  return path === '' ? '$' : path;
}

/**
 * Checks a built change against the generic schema so a problem names the native event it came from,
 * not a position in an array the sender never saw.
 */
export function checkChange(change: Record<string, unknown>, path: string, details: Problem[]): boolean {
  const parsed = verdictChangeSchema.safeParse(change);
  if (parsed.success) return true;
  for (const issue of parsed.error.issues)
    details.push({
      path,
      message: `the verdict change built from it is invalid: ${pathOf(...issue.path)} ${issue.message}`,
    });
  return false;
}

export function failure(path: string, message: string): NormaliseResult {
  return { ok: false, details: [{ path, message }] };
}

/** A body can hold the same event twice (overlapping polls, rounded ids); each event id is sent once. */
export function result(
  changes: Record<string, unknown>[],
  details: Problem[],
  notes: Problem[],
): NormaliseResult {
  if (details.length > 0) return { ok: false, details };
  const seen = new Set<unknown>();
  return { ok: true, changes: changes.filter((c) => !seen.has(c.eventId) && seen.add(c.eventId)), notes };
}
