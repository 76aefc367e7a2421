/** `keel dev` (the embedded stack in the foreground) and `keel demo` (the demo agents end to end). */
import { startDevStack } from '../embedded/stack.js';
import { startDevRedis } from '../embedded/redis.js';
import { demoAgents } from '../testing/demo/agents.js';
import { runDemo } from '../testing/demo/run-demo.js';
import { demoScripts } from '../testing/demo/scripts.js';
import { startScriptedModelServer } from '../testing/scripted-model.js';
import { waitForSignal, type Command, type Values } from './command.js';
import { sandboxesOption } from './sandboxes.js';
import { loadAgents } from './agents-file.js';

/** The embedded stack for `dev` and `run --wait`: the user's agents (default the demo's), the scripted model offline. */
export async function startCliStack(values: Values, log: (line: string) => void) {
  const file = (values.agents as string | undefined) ?? process.env.KEEL_AGENTS;
  const agents = file ? await loadAgents(file) : demoAgents;
  const sandboxes = await sandboxesOption(values);
  return startDevStack({
    agents,
    offlineModel: () => startScriptedModelServer({ scripts: demoScripts }),
    log,
    sandboxes,
  });
}

export const dev: Command = {
  name: 'dev',
  usage:
    'dev [--agents FILE] [--sandboxes docker,microvm]  the embedded stack (Temporal + Web UI, worker, scripted model) in the foreground; default agents: the demo, sandboxes: docker',
  options: { agents: { type: 'string' }, sandboxes: { type: 'string' } },
  async run(_args, values) {
    const redis = await startDevRedis((l) => console.log(l));
    const stack = await startCliStack(values, (l) => console.log(l));
    console.log(
      `Keel dev stack ready: Temporal ${stack.address}${stack.uiUrl ? `, Web UI ${stack.uiUrl}` : ''}. Ctrl-C stops it.`,
    );
    await Promise.race([waitForSignal(), stack.runWorker]);
    await stack.close();
    await redis?.close();
    return 0;
  },
};

export const demo: Command = {
  name: 'demo',
  usage: 'demo                           run the demo agents end to end and shut down',
  run: () => runDemo(),
};
