/** What the bench reads about a process from /proc (Linux): CPU time, which load does not inflate as it does wall time. */
import { readFileSync } from 'node:fs';

/** User + system CPU time of a process, in ms (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
