/**
 * `keel watch <runId> [--after N] [--no-tokens]`: follows a run live until it ends and exits with its exit code
 * (0 completed, 1 failed or cancelled).
 */
import type { KeelClient } from '../client.js';
import { isTerminal } from '../live/events.js';
import { EventPrinter, exitCodeFor } from './render.js';

export interface WatchOptions {
  after?: number;
  tokens?: boolean;
  write?: (text: string) => void;
}

export async function watchRun(client: KeelClient, runId: string, options: WatchOptions = {}): Promise<number> {
  const printer = new EventPrinter(runId, options.write ?? ((t) => process.stdout.write(t)), { showUserMessages: true });
  for await (const event of client.stream(runId, { after: options.after, tokens: options.tokens })) {
    printer.print(event);
  }
  // Resumed after the last event: the status comes from the run's state.
  const status = printer.status ?? (await client.getState(runId)).status;
  return isTerminal(status) ? exitCodeFor(status) : 1;
}
