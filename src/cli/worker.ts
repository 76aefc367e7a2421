/** `keel worker --agents FILE`: a worker for the user's agents against the configured Temporal. */
import { connectWorker, temporalTarget } from '../connection.js';
import { createWorker } from '../worker.js';
import { agentsFileFrom, loadAgents } from './agents-file.js';
import { str, type Command } from './command.js';

export const worker: Command = {
  name: 'worker',
  usage: 'worker --agents FILE [--models FILE]   a worker for the agents FILE exports (.ts, .js, .mjs), against the configured Temporal; model providers from a TOML file (or KEEL_MODELS_FILE)',
  options: { agents: { type: 'string' }, models: { type: 'string' } },
  async run(_args, values) {
    const agents = await loadAgents(agentsFileFrom(values, 'worker'));
    const target = temporalTarget();
    const connection = await connectWorker(target);
    try {
      const w = await createWorker({ agents, connection, namespace: target.namespace, modelsFile: str(values, 'models') });
      console.log(`worker for ${agents.map((a) => a.name).join(', ')} polling '${w.taskQueue}' and '${w.hostQueue}' on ${target.connection.address}`);
      process.once('SIGINT', () => w.shutdown());
      process.once('SIGTERM', () => w.shutdown());
      await w.run();
    } finally {
      await connection.close();
    }
    return 0;
  },
};
