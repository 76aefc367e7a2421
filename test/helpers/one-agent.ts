/**
 * What most run tests start from: one agent with its own script (named after the test) and one worker on its own
 * queue, on a stack (the dev server's or the time-skipping one's); and the approval tests' `deploy` tool.
 */
import { z } from 'zod';
import { Agent, type AgentOptions } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import type { Script } from '../../src/testing/script.js';
import type { CreateWorkerOptions } from '../../src/worker.js';
import { queueFor, type TestStack } from './stack.js';

export type OneAgentOptions = Omit<AgentOptions, 'name' | 'instructions' | 'model'>;

export async function oneAgent(
  stack: TestStack,
  name: string,
  script: Script,
  options: OneAgentOptions,
  workerOptions: Partial<CreateWorkerOptions> = {},
) {
  stack.model.setScript(name, script);
  const agent = new Agent({ name, instructions: 'Do as asked.', model: name, ...options });
  const queue = queueFor(name);
  const worker = await stack.worker([agent], queue, workerOptions);
  return { agent, queue, worker, client: stack.client(queue) };
}

/** A `deploy` tool that needs approval (unless told otherwise) and records each execution. */
export function deployTool(executed: string[], needsApproval: boolean = true) {
  return tool({
    name: 'deploy',
    description: 'Deploy to an environment',
    parameters: z.object({ env: z.string() }),
    needsApproval,
    execute: ({ env }) => {
      executed.push(env);
      return `deployed to ${env}`;
    },
  });
}
