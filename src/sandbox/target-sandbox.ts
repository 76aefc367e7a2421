/**
 * The StartedSandbox methods that are the same for every backend: each delegates to exec.ts or files.ts over the
 * backend's ExecTarget. Backends add only how a sandbox is removed.
 */
import type { Readable } from 'node:stream';
import { runCommand } from './exec.js';
import type { ExecTarget } from './exec-target.js';
import * as files from './files.js';
import type { DirEntry, ExecOptions, ExecResult, StartedSandbox } from './types.js';

export abstract class TargetSandbox implements StartedSandbox {
  constructor(protected readonly target: ExecTarget) {}

  get id(): string {
    return this.target.id;
  }

  exec(options: ExecOptions): Promise<ExecResult> {
    return runCommand(this.target, options);
  }

  readFile(path: string, options?: { maxBytes?: number }): Promise<Buffer> {
    return files.readFile(this.target, path, options);
  }

  writeFile(path: string, content: Buffer | string): Promise<void> {
    return files.writeFile(this.target, path, content);
  }

  removeFile(path: string): Promise<void> {
    return files.removeFile(this.target, path);
  }

  listDir(path: string): Promise<DirEntry[]> {
    return files.listDir(this.target, path);
  }

  putArchive(tar: Readable | Buffer, dest?: string): Promise<void> {
    return files.putArchive(this.target, tar, dest);
  }

  exportWorkspace(): Promise<Readable> {
    return files.exportWorkspace(this.target);
  }

  /** Removes the sandbox; removing one that is already gone is fine. */
  abstract remove(): Promise<void>;

  [Symbol.asyncDispose](): Promise<void> {
    return this.remove();
  }
}
