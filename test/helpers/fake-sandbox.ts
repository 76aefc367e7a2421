/** A StartedSandbox without Docker, for unit tests: its workspace is a Map and its commands echo what they ran. */
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import type { ExecOptions, StartedSandbox } from '../../src/sandbox/types.js';

export function fakeSandbox(id: string, files: Map<string, string | Buffer>, ran: string[]): StartedSandbox {
  return {
    id,
    exec: async (o: ExecOptions) => (
      ran.push(o.cmd),
      {
        exitCode: 0,
        stdout: `ran: ${o.cmd}\n`,
        stderr: '',
        timedOut: false,
        truncated: false,
        durationMs: 1,
        replayed: false,
      }
    ),
    readFile: async (p: string) => {
      const content = files.get(p);
      if (content === undefined) throw new SandboxError('not_found', `${p}: no such file`);
      return Buffer.from(content);
    },
    writeFile: async (p: string, content: Buffer | string) => void files.set(p, String(content)),
    listDir: async () =>
      [...files.keys()].map((name) => ({ name, type: 'file' as const, size: files.get(name)!.length })),
    removeFile: async (p: string) => void files.delete(p),
    putArchive: async () => undefined,
    exportWorkspace: async () => assert.fail('not exported in this test'),
    spawn: async () => assert.fail('no process spawned in this test'),
    remove: async () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  } as unknown as StartedSandbox;
}
