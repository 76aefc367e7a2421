/**
 * A burst of sandbox runs started together on one worker (the test of a busy host, and the bench's burst50
 * figures): each run's one command prints its container's host name; the live sandboxes on the engine and the
 * process's memory are sampled while they run.
 */
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import type { RunState } from '../../src/workflows/run-state.js';
import { docker, sandboxWorker } from './sandbox.js';
import { queueFor, type TestStack } from './stack.js';

export interface BurstResult {
  states: RunState[];
  /** The runs' ids, in the order they were started. */
  ids: string[];
  /** Most live sandboxes seen on the engine at once (sampled). */
  peakSandboxes: number;
  /** Most resident memory of this process (worker, client and all) seen, in MB (sampled). */
  peakRssMb: number;
  /** From the first start to the last result. */
  allDoneMs: number;
  /** CPU time this process (worker, client and all) used meanwhile, in seconds. */
  cpuSec: number;
}

export interface BurstOptions {
  runs: number;
  /** The worker's cap; default the worker's own default. */
  maxSandboxes?: number;
  /** Called once every run has started, while they run (the test looks for a waiting run then). */
  whileRunning?: (ids: string[]) => Promise<void>;
}

const MB = 1024 * 1024;

/** A sandbox agent whose runs run `hostname` once and answer `done`. */
export function oneCommandAgent(stack: TestStack): SandboxAgent {
  stack.model.setScript('burst', {
    steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: 'hostname' } }] }, { message: 'done' }],
  });
  return new SandboxAgent({ name: 'burst', instructions: 'Run one command.', model: 'burst', capabilities: [shell()] });
}

export async function runBurst(stack: TestStack, options: BurstOptions): Promise<BurstResult> {
  const agent = oneCommandAgent(stack);
  const queue = queueFor('burst');
  const worker = await sandboxWorker(
    stack,
    [agent],
    queue,
    options.maxSandboxes !== undefined ? { maxSandboxes: options.maxSandboxes } : {},
  );
  const client = stack.client(queue);
  const live = { label: [`${LABELS.sandbox}=1`], status: ['created', 'restarting', 'running'] };
  let peakSandboxes = 0;
  let peakRssMb = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakSandboxes = Math.max(peakSandboxes, (await docker.listContainers({ all: true, filters: live })).length);
      peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / MB);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return await worker.runUntil(async () => {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const ids = await Promise.all(Array.from({ length: options.runs }, () => client.startRun(agent, 'go')));
      await options.whileRunning?.(ids);
      await Promise.all(ids.map((id) => client.result(id)));
      const allDoneMs = Math.round(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      const states = await Promise.all(ids.map((id) => client.getState(id)));
      return {
        states,
        ids,
        peakSandboxes,
        peakRssMb: Math.round(peakRssMb),
        allDoneMs,
        cpuSec: Math.round((cpu.user + cpu.system) / 1e5) / 10,
      };
    });
  } finally {
    sampling = false;
    await sampler;
  }
}
