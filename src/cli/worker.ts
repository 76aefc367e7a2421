/** `keel worker --agents FILE`: a worker for the user's agents against the configured Temporal. */
import { connectWorker, temporalTarget } from '../connection.js';
import { createWorker } from '../worker.js';
import { agentsFileFrom, loadAgents } from './agents-file.js';
import * as path from 'node:path';
import { str, strs, type Command } from './command.js';
import { sandboxesOption } from './sandboxes.js';

export const worker: Command = {
  name: 'worker',
  usage:
    'worker --agents FILE [--sandboxes docker,gvisor,microvm,local] [--local-dir DIR]... [--models FILE]  a worker for the agents FILE exports (.ts, .js, .mjs), against the configured Temporal; sandbox tiers offered (default docker); runs may copy in local dirs only under each --local-dir; model providers from a TOML file (or KEEL_MODELS_FILE)',
  options: {
    agents: { type: 'string' },
    sandboxes: { type: 'string' },
    'local-dir': { type: 'string', multiple: true },
    models: { type: 'string' },
  },
  async run(_args, values) {
    const sandboxes = await sandboxesOption(values);
    const agents = await loadAgents(agentsFileFrom(values, 'worker'));
    const target = temporalTarget();
    const connection = await connectWorker(target);
    try {
      const localDirs = strs(values, 'local-dir').map((d) => path.resolve(d));
      const w = await createWorker({
        agents,
        connection,
        namespace: target.namespace,
        sandboxes,
        localDirs,
        modelsFile: str(values, 'models'),
      });
      console.log(
        `worker for ${agents.map((a) => a.name).join(', ')} polling '${w.taskQueue}' and '${w.hostQueue}' (sandbox tiers: ${w.tiers.join(', ') || 'none'}) on ${target.connection.address}`,
      );
      process.once('SIGINT', () => w.shutdown());
      process.once('SIGTERM', () => w.shutdown());
      await w.run();
    } finally {
      await connection.close();
    }
    return 0;
  },
};
