/**
 * Agents of the worker-crash tests, in a module of their own: the test process and the worker processes it spawns
 * (test/helpers/worker-process.ts) both load it, so they register the same definitions (same AgentSpec versions).
 * Each agent's model is a script of the same name on the scripted model server.
 */
import type { Agent } from '../../src/agents/agent.js';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';

const sandboxAgent = (name: string, options: { approveCommands?: boolean } = {}) =>
  new SandboxAgent({
    name,
    instructions: 'Run the commands you are asked to run.',
    model: name.replace(/_/g, '-'),
    capabilities: [filesystem(), shell(options.approveCommands ? { needsApproval: true } : {})],
  });

export const crashAgents = {
  /** Killed while a model call is in flight. */
  model: sandboxAgent('crash_model'),
  /** Killed while a sandbox command runs. */
  command: sandboxAgent('crash_command'),
  /** Killed while the run waits for an approval. */
  approval: sandboxAgent('crash_approval', { approveCommands: true }),
  /** Killed by the `after-exec` crash point: the command ran, its result was never reported. */
  exactlyOnce: sandboxAgent('crash_once'),
  /** bench/run.ts: resumeAfterWorkerKillMs. */
  bench: sandboxAgent('bench_kill'),
  /** Two hosts sharing only Temporal and S3; host A killed mid-run (test/integration/multi-host.test.ts). */
  multiHost: sandboxAgent('multi_host'),
  /** bench/run.ts: crossHostResumeMs. */
  benchCrossHost: sandboxAgent('bench_cross_host'),
};

/** What a worker process registers (the module's contract with worker-process.ts). */
export const agents: Agent[] = Object.values(crashAgents);
