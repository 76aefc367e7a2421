/**
 * A busy host (issues 20 and 23): 50 sandbox runs (one command each) started together on one worker with its
 * default per-host sandbox cap (KEEL_MAX_SANDBOXES, else from cores and memory), until all are done.
 * `burst50AllDoneMs`: first start to last result. `burst50WorkerPeakRssMb`: peak resident memory of the bench
 * process, which runs the worker (and the client: the figure is an upper bound for the worker). `burst50WorkerCpuSec`:
 * that process's CPU time meanwhile; set against cores x seconds and the load average it says whether the worker,
 * the engine or the server bounds the figure. `burst50PeakSandboxes`: most sandboxes live at once (sampled).
 */
import { loadavg } from 'node:os';
import { maxSandboxesFromEnv } from '../../src/sandbox/slots.js';
import { runBurst } from '../../test/helpers/burst.js';
import type { TestStack } from '../../test/helpers/stack.js';

export default async function burstFigures(stack: TestStack): Promise<Record<string, number>> {
  const loadBefore = loadavg()[0];
  const burst = await runBurst(stack, { runs: 50 });
  return {
    burst50AllDoneMs: burst.allDoneMs,
    burst50WorkerPeakRssMb: burst.peakRssMb,
    burst50WorkerCpuSec: burst.cpuSec,
    burst50PeakSandboxes: burst.peakSandboxes,
    burst50Cap: maxSandboxesFromEnv(),
    burst50LoadBefore: Math.round(loadBefore * 100) / 100,
    burst50LoadAfter: Math.round(loadavg()[0] * 100) / 100,
  };
}
