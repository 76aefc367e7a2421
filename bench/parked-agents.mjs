// The parked-runs agent of test/helpers/parked-agents.ts in plain JavaScript against the built package (dist/), for
// `keel worker` as a user runs it (no tsx): same name, model and tool, so runs started from the TypeScript
// definition resolve here. Used by bench/figures/parked.ts.
import { z } from 'zod';
import { Agent, tool } from '../dist/index.js';

const publish = tool({
  name: 'publish',
  description: 'Publishes a note',
  parameters: z.object({ note: z.string() }),
  needsApproval: true,
  execute: ({ note }) => `published: ${note}`,
});

export const agents = [
  new Agent({ name: 'parked', instructions: 'Publish the note you are given.', model: 'parked', tools: [publish] }),
];
