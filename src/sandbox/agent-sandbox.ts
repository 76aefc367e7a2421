/**
 * The StartedSandbox every tier shares: each method is one request to the sandbox's agent (agent-client.ts).
 * A tier supplies only how to reach its agent and how to remove the sandbox.
 */
import type { Readable } from 'node:stream';
import type { AgentClient } from './agent-client.js';
import { spawnProcess } from './agent-process.js';
import { runCommand } from './exec.js';
import type {
  DirEntry,
  ExecOptions,
  ExecResult,
  SandboxProcess,
  SpawnOptions,
  StartedSandbox,
  WorkspaceExport,
  WorkspaceExportOptions,
} from './types.js';

export const DEFAULT_MAX_READ_BYTES = 10 * 1024 * 1024;

export abstract class AgentSandbox implements StartedSandbox {
  abstract readonly id: string;

  /** The live connection to this sandbox's agent, reconnecting when the last one closed. */
  protected abstract agent(): Promise<AgentClient>;

  /** Removes the sandbox; removing one that is already gone is fine. */
  abstract remove(): Promise<void>;

  async exec(options: ExecOptions): Promise<ExecResult> {
    return runCommand(await this.agent(), options);
  }

  /** Reads a workspace file; `too_large` when it exceeds `maxBytes` (default 10 MiB). */
  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    return (await this.agent()).readFile(path, options.maxBytes ?? DEFAULT_MAX_READ_BYTES);
  }

  /** Writes a workspace file as the sandbox user, creating its parent directories. */
  async writeFile(path: string, content: Buffer | string): Promise<void> {
    return (await this.agent()).writeFile(path, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }

  async removeFile(path: string): Promise<void> {
    return (await this.agent()).removeFile(path);
  }

  async listDir(path: string): Promise<DirEntry[]> {
    return (await this.agent()).listDir(path);
  }

  async putArchive(tar: Readable | Buffer, dest?: string): Promise<void> {
    return (await this.agent()).tarIn(tar, dest);
  }

  async exportWorkspace(options?: WorkspaceExportOptions): Promise<WorkspaceExport> {
    return (await this.agent()).tarOut('.', options);
  }

  async spawn(options: SpawnOptions): Promise<SandboxProcess> {
    return spawnProcess(await this.agent(), options);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.remove();
  }
}
