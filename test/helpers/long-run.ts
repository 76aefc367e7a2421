/**
 * A long run without compaction, shared by the carry test and the long-runs bench: `turns` model turns, each a
 * call of `note` whose ~1.5 KB result stays inline in the RunState (under the 2 KB a result keeps inline), then a
 * final message. Without items by reference, every continue-as-new would carry all of those results again.
 */
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import type { Script } from '../../src/testing/script.js';

export const note = tool({
  name: 'note',
  description: 'writes a note',
  parameters: z.object({ i: z.number() }),
  execute: ({ i }) => `note ${i}: ${'lorem ipsum '.repeat(125)}`,
});

/** `recordRequests` keeps every request body in memory: for short runs only. */
export function noteScript(turns: number, recordRequests = false): Script {
  const calls = Array.from({ length: turns - 1 }, (_, i) => ({ toolCalls: [{ name: 'note', arguments: { i } }] }));
  return { steps: [...calls, { message: `done after ${turns}` }], recordRequests };
}

export const noteAgent = (name: string, model: string, maxTurns: number) =>
  new Agent({ name, instructions: 'x', model, tools: [note], maxTurns });
