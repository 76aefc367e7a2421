/**
 * One agent connection per sandbox per process, opened on first use and again once it closed. Requests to a
 * sandbox share its connection (two writers on one agent stream could interleave frames).
 */
import type { AgentClient } from './agent-client.js';

export class AgentConnections {
  private readonly live = new Map<string, Promise<AgentClient>>();
  /** The connections that opened, by sandbox id (for a synchronous look). */
  private readonly opened = new Map<string, AgentClient>();

  /** Whether sandbox `id` has an open connection now: its agent answered and its stream has not ended. */
  isOpen(id: string): boolean {
    const client = this.opened.get(id);
    return client !== undefined && !client.closed;
  }

  /** The open connection to sandbox `id`, or a new one from `open`. */
  get(id: string, open: () => Promise<AgentClient>): Promise<AgentClient> {
    const current = this.live.get(id);
    if (!current) return this.open(id, open);
    return current.then(
      (client) => (client.closed ? this.reopen(id, current, open) : client),
      () => this.reopen(id, current, open),
    );
  }

  /** Closes and forgets sandbox `id`'s connection. */
  async drop(id: string): Promise<void> {
    const current = this.live.get(id);
    this.live.delete(id);
    this.opened.delete(id);
    await current?.then((c) => c.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.drop(id)));
  }

  private reopen(id: string, stale: Promise<AgentClient>, open: () => Promise<AgentClient>): Promise<AgentClient> {
    const current = this.live.get(id);
    return current && current !== stale ? current : this.open(id, open);
  }

  private open(id: string, open: () => Promise<AgentClient>): Promise<AgentClient> {
    const opening = open();
    this.live.set(id, opening);
    opening.then(
      (client) => this.live.get(id) === opening && this.opened.set(id, client),
      () => {
        if (this.live.get(id) === opening) this.live.delete(id);
      },
    );
    return opening;
  }
}
