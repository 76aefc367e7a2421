/**
 * The MCP SDK `Transport` for a stdio server inside the run's sandbox: the server is a process the sandbox agent
 * spawned (StartedSandbox.spawn), so it runs as the sandbox user, under the sandbox's limits and network setting.
 * Messages are newline-delimited JSON on its stdin/stdout, as with a local stdio server; a line longer than the
 * SDK's read buffer (10 MiB) closes the connection instead of growing the worker's memory.
 */
import { lazyModule } from '../util/lazy-module.js';

const mcpStdio = lazyModule<typeof import('@modelcontextprotocol/sdk/shared/stdio.js')>(
  '@modelcontextprotocol/sdk/shared/stdio.js',
);
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ProcessExit, SandboxProcess, StartedSandbox } from '../sandbox/types.js';

const STDERR_TAIL = 2_000;
/** How long a server may take to exit after its stdin closed before it is killed. */
const CLOSE_GRACE_MS = 2_000;

export interface SandboxStdioOptions {
  argv: string[];
  env?: Record<string, string>;
  /** Relative to /workspace. */
  workdir?: string;
}

export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private process?: SandboxProcess;
  private readonly buffer = new (mcpStdio().ReadBuffer)();
  private tail = '';
  private ending = '';
  private closed = false;

  constructor(
    private readonly sandbox: StartedSandbox,
    private readonly options: SandboxStdioOptions,
  ) {}

  async start(): Promise<void> {
    const process = await this.sandbox.spawn({
      argv: this.options.argv,
      env: this.options.env,
      workdir: this.options.workdir,
      onStdout: (chunk) => this.onStdout(chunk),
      onStderr: (chunk) => this.keepStderr(chunk.toString('utf8')),
    });
    this.process = process;
    process.exited.then(
      (exit) => this.ended(exit),
      (err: unknown) => this.ended(undefined, err instanceof Error ? err : new Error(String(err))),
    );
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.process || this.closed) throw new Error('the MCP server in the sandbox is not running');
    await this.process.write(Buffer.from(mcpStdio().serializeMessage(message), 'utf8'));
  }

  /** Closes the server's stdin (a well-behaved server exits), then kills what is left after a grace period. */
  async close(): Promise<void> {
    const process = this.process;
    if (!process || this.closed) return this.finish();
    process.closeStdin();
    const exited = await Promise.race([
      process.exited.then(
        () => true,
        () => true,
      ),
      sleep(CLOSE_GRACE_MS).then(() => false),
    ]);
    if (!exited) await process.kill();
    this.finish();
  }

  /** The end of the server's stderr and how it ended, for error messages. */
  stderr(): string {
    return [this.tail.trim(), this.ending].filter(Boolean).join(' ');
  }

  private onStdout(chunk: Buffer): void {
    try {
      this.buffer.append(chunk);
    } catch (err) {
      this.onerror?.(err as Error); // one line over the cap: this server is done
      void this.process?.kill();
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (err) {
        this.onerror?.(err as Error); // a malformed line: skip it, as the SDK's own stdio transport does
        continue;
      }
      if (!message) return;
      this.onmessage?.(message);
    }
  }

  private keepStderr(text: string): void {
    this.tail = (this.tail + text).slice(-STDERR_TAIL);
  }

  private ended(exit: ProcessExit | undefined, err?: Error): void {
    if (exit) {
      if (exit.stderr) this.tail = exit.stderr.slice(-STDERR_TAIL);
      this.ending = exit.killed ? '[the server was stopped]' : `[the server exited with code ${exit.exitCode}]`;
    } else {
      this.ending = `[${err?.message ?? 'the server could not be started'}]`;
      if (err) this.onerror?.(err);
    }
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
