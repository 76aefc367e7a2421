/**
 * Agents and scripts of the live-run tests (streaming, watch, chat, conversations), in a module of their own so
 * worker processes spawned by a test (test/helpers/worker-process.ts) register the same definitions.
 */
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { tool } from '../../src/agents/tool.js';
import type { Script } from '../../src/testing/script.js';
import { execStep as exec } from './script-steps.js';

export const liveScripts: Record<string, Script> = {
  /** One answer per input, numbered, so a test sees which step (how much history) the model was given. */
  'live-chat': {
    steps: Array.from({ length: 8 }, (_, i) => ({ message: `answer number ${i} from the scripted model` })),
  },
  /** A tool call that needs approval, then a streamed final answer. */
  'live-vault': {
    steps: [
      { message: 'Opening the vault.', toolCalls: [{ name: 'open_vault', arguments: { door: 'north' } }] },
      { message: 'The vault holds forty two gold bars and one very old map.' },
    ],
  },
  /** A sandbox conversation: a file written for the first input is read back for the second. */
  'live-notes': {
    steps: [
      exec('echo remembered > note.txt'),
      { message: 'I wrote the note.' },
      exec('cat note.txt'),
      { message: 'The note says remembered.' },
      { message: 'Goodbye.' },
    ],
  },
  /** Fails for good on its first model call. */
  'live-broken': { steps: [{ error: { status: 400, times: 99, message: 'scripted bad request' } }] },
};

const openVault = tool({
  name: 'open_vault',
  description: 'Opens a vault door.',
  parameters: z.object({ door: z.string() }),
  needsApproval: true,
  execute: ({ door }) => `the ${door} door is open`,
});

export const liveAgents = {
  chat: new Agent({ name: 'live_chat', instructions: 'Answer.', model: 'live-chat', conversation: true }),
  vault: new Agent({ name: 'live_vault', instructions: 'Open vaults.', model: 'live-vault', tools: [openVault] }),
  notes: new SandboxAgent({
    name: 'live_notes',
    instructions: 'Keep notes.',
    model: 'live-notes',
    capabilities: [filesystem(), shell()],
    conversation: true,
  }),
  broken: new Agent({ name: 'live_broken', instructions: 'Fail.', model: 'live-broken' }),
};

/** What a worker process registers (the module's contract with worker-process.ts). */
export const agents = Object.values(liveAgents);
