/**
 * `keel watch <runId> [--after N]`: follows a run live until it ends and exits with its exit code (0 completed,
 * 1 failed or cancelled). Child runs (agent tools, fan-out items) are followed too, indented under their parent.
 */
import type { KeelClient } from '../client.js';
import { isTerminal } from '../live/events.js';
import { EventPrinter, exitCodeFor } from './render.js';
import { connectClient, str, usage, type Command } from './command.js';

export interface WatchOptions {
  after?: number;
  tokens?: boolean;
  write?: (text: string) => void;
}

export async function watchRun(client: KeelClient, runId: string, options: WatchOptions = {}): Promise<number> {
  const printer = new EventPrinter(runId, options.write ?? ((t) => process.stdout.write(t)), {
    showUserMessages: true,
  });
  for await (const event of client.stream(runId, { after: options.after, tokens: options.tokens, tree: true })) {
    printer.print(event);
  }
  // Resumed after the last event: the status comes from the run's state.
  const status = printer.status ?? (await client.getState(runId, { items: 'recent' })).status;
  return isTerminal(status) ? exitCodeFor(status) : 1;
}

export const watch: Command = {
  name: 'watch',
  usage:
    'watch <runId> [--after SEQ]      follow a run and its child runs live (token text with KEEL_REDIS_URL); exits with its exit code',
  options: { after: { type: 'string' } },
  async run([runId], values) {
    if (!runId) usage('watch needs a run id');
    const after = str(values, 'after');
    if (after !== undefined && !/^\d+$/.test(after)) usage('--after must be an event number');
    const client = await connectClient();
    try {
      return await watchRun(client, runId, { after: after === undefined ? undefined : Number(after) });
    } finally {
      await client.close();
    }
  },
};
