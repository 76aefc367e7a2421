/**
 * Agents of the multi-agent tests, in a module of their own: the test process and the worker processes the crash
 * test spawns (worker-process.ts) load the same definitions. `reviewer` and `coordinator` are the example in
 * docs/multi-agent.md (a coordinator that reviews several files in parallel sandboxes and merges the findings).
 * Each agent's model is a script of the same name on the scripted model server (`multiAgentScripts`).
 */
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import type { Script } from '../../src/testing/script.js';

// --- the docs example -------------------------------------------------------------------------------------------
export const reviewer = new SandboxAgent({
  name: 'reviewer',
  model: 'reviewer',
  instructions: 'Review the file named in your input: read it, run what helps, and list concrete findings.',
  manifest: {
    entries: {
      'src/app.py': file('def main():\n    # TODO: handle errors\n    return run()\n'),
      'src/db.py': file('PASSWORD = "hunter2"  # FIXME: read from the environment\n'),
      'src/util.py': file('def add(a, b):\n    return a + b\n'),
    },
  },
  capabilities: [filesystem(), shell()],
  outputType: z.object({ path: z.string(), findings: z.array(z.string()) }),
});

export const coordinator = new Agent({
  name: 'coordinator',
  model: 'coordinator',
  instructions:
    'Review every file you are given with review_file, all in one turn, then merge the findings into one report.',
  tools: [
    reviewer.asTool({
      name: 'review_file',
      description: 'Reviews one file in its own sandbox',
      input: z.object({ path: z.string() }),
    }),
  ],
});

/** What the scripted model answers for the example (a real model decides this itself). */
export const exampleScripts: Record<string, Script> = {
  coordinator: {
    steps: [
      {
        toolCalls: ['src/app.py', 'src/db.py', 'src/util.py'].map((path) => ({
          name: 'review_file',
          arguments: { path },
        })),
      },
      { message: 'Merged review: app.py lacks error handling; db.py hard-codes a password; util.py is fine.' },
    ],
  },
  reviewer: {
    steps: [
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'grep -rn "TODO\\|FIXME" /workspace/src || true' } }] },
      { output: { path: 'src', findings: ['TODO and FIXME markers found by grep'] } },
    ],
  },
};

// --- the crash test: a fan-out of sandbox items, each with one command -------------------------------------------
export const fanItem = new SandboxAgent({
  name: 'fan_item',
  model: 'fan-item',
  instructions: 'Run the command you are asked to run.',
  capabilities: [shell()],
});

/** Step 0 runs a command long enough for the test to kill the worker while every started item is inside it. */
export const fanItemScript: Script = {
  steps: [
    { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'sleep 8; echo slept' } }] },
    { message: 'item done' },
  ],
};

/** What a worker process registers (the module's contract with worker-process.ts). */
export const agents: Agent[] = [coordinator, fanItem];
