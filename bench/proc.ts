/** What the bench reads about a process from /proc (Linux): CPU time, which load does not inflate as it does wall time. */
import { readFileSync } from 'node:fs';

/** User + system CPU time of a process, in ms (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Busy and total CPU time of the whole machine so far, in clock ticks (/proc/stat's first line). */
function machineTicks(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = ticks[3] + ticks[4]; // idle + iowait
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** The share of the machine's CPU in use over the next `windowMs`. */
async function machineBusyShare(windowMs = 1000): Promise<number> {
  const a = machineTicks();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const b = machineTicks();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

/**
 * Waits until the machine is quiet (under `maxBusy` of its CPU in use for a second), at most `limitMs`: what one
 * group of figures left running (a server writing out a thousand finished runs, containers being removed) must not
 * be measured in the next. Says how long it waited and how busy the machine was when it stopped waiting.
 */
export async function settle(maxBusy = 0.15, limitMs = 90_000): Promise<{ settleMs: number; busyShare: number }> {
  const t0 = performance.now();
  let busyShare = await machineBusyShare();
  while (busyShare > maxBusy && performance.now() - t0 < limitMs) busyShare = await machineBusyShare();
  return { settleMs: Math.round(performance.now() - t0), busyShare: Math.round(busyShare * 100) / 100 };
}
