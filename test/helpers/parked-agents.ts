/**
 * The agent of the parked-runs benchmark and test, in a module of its own so worker processes
 * (test/helpers/worker-process.ts) register the same definition: a plain Agent whose one function tool needs
 * approval, so each run parks on its first turn until someone approves `publish`.
 */
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import type { Script } from '../../src/testing/script.js';

const publish = tool({
  name: 'publish',
  description: 'Publishes a note',
  parameters: z.object({ note: z.string() }),
  needsApproval: true,
  execute: ({ note }) => `published: ${note}`,
});

export const parkedAgent = new Agent({
  name: 'parked',
  instructions: 'Publish the note you are given.',
  model: 'parked',
  tools: [publish],
});

/** Turn 1 asks for `publish` (call id `call_0_0`, see scripted-model-responses.ts); turn 2 answers. */
export const parkedScript: Script = {
  steps: [{ toolCalls: [{ name: 'publish', arguments: { note: 'hello' } }] }, { message: 'published' }],
};

export const PARKED_CALL_ID = 'call_0_0';

/** What a worker process registers (the module's contract with worker-process.ts). */
export const agents: Agent[] = [parkedAgent];
