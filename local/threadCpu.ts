import { readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux Node supports. */
const clockTicksPerSecond = 100;

/**
 * CPU milliseconds the calling thread has used (user + system), from Linux's /proc/thread-self: the
 * bench tells the functions' main thread from Azurite's and the sandbox's threads with it. Elsewhere
 * the whole process's CPU stands in. Resolution: 10 ms.
 */
export function threadCpuMs(): number {
  try {
    return parseThreadStat(readFileSync('/proc/thread-self/stat', 'utf8'));
  } catch {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  }
}

/** utime and stime (fields 14 and 15) of a /proc stat line; the command name may hold spaces. */
export function parseThreadStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

/** The same, as source for a thread whose program is evaluated text (Azurite's). */
export const threadCpuProgram = `function threadCpuMs() {
  try {
    const stat = require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ${clockTicksPerSecond};
  } catch {
    return Number.NaN;
  }
}`;
