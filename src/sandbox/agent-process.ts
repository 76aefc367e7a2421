/**
 * A long-lived process in the sandbox with streamed stdin and stdout (the agent's `spawn` op): what an MCP stdio
 * server inside the sandbox runs as. Stdin is sent within the agent's ack window; stdout chunks are acked as they
 * are handed on; stderr arrives live up to the agent's budget and in full (bounded) with the exit.
 */
import type { AgentClient } from './agent-client.js';
import type { ProcessExit, SandboxProcess, SpawnOptions } from './types.js';

/** Stdin chunks in flight before `write` waits for the agent's ack (the agent's `window`). */
const WINDOW = 16;
const CHUNK_BYTES = 64 * 1024;
const DEFAULT_STDERR_BYTES = 64 * 1024;

class AgentProcess implements SandboxProcess {
  readonly exited: Promise<ProcessExit>;
  private inFlight = 0;
  private wake?: () => void;
  private ended = false;

  constructor(
    private readonly agent: AgentClient,
    readonly id: string,
    options: SpawnOptions,
  ) {
    const { onStdout, onStderr, stderrBytes, ...fields } = options;
    this.exited = agent
      .request<ProcessExit>(
        { op: 'spawn', ...fields, workdir: fields.workdir ?? '.', cap: stderrBytes ?? DEFAULT_STDERR_BYTES },
        {
          id,
          onStream: (stream, data) => {
            if (stream === 'stderr') return onStderr?.(data);
            this.agent.send({ id, op: 'ack' });
            onStdout(data);
          },
          onAck: () => this.credit(),
        },
      )
      .finally(() => {
        this.ended = true;
        this.wake?.();
      });
    this.exited.catch(() => undefined);
  }

  async write(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; at += CHUNK_BYTES) {
      while (this.inFlight >= WINDOW && !this.ended) await new Promise<void>((r) => (this.wake = r));
      if (this.ended) throw new Error('the process has ended');
      this.inFlight++;
      this.agent.send({ id: this.id, op: 'stdin', data: data.subarray(at, at + CHUNK_BYTES).toString('base64') });
    }
  }

  closeStdin(): void {
    if (!this.ended) this.agent.send({ id: this.id, op: 'stdin', eof: true });
  }

  async kill(): Promise<void> {
    if (this.ended) return;
    await this.agent.kill(this.id).catch(() => undefined);
    await this.exited.catch(() => undefined);
  }

  private credit(): void {
    this.inFlight--;
    this.wake?.();
  }
}

/** Starts `options.argv` (or `cmd`) in the sandbox behind `agent`; `exited` says whether it started at all. */
export function spawnProcess(agent: AgentClient, options: SpawnOptions): SandboxProcess {
  return new AgentProcess(agent, agent.nextId(), options);
}
