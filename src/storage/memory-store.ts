/**
 * Where agent memory lives between runs: a folder per (agent, scope) that outlives sandboxes. Local directory by
 * default; with KEEL_STORE=s3://... an S3 prefix every host shares (S3MemoryStore, s3-memory-store.ts).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PARTIAL_SUFFIX, writeFileAtomic } from '../util/atomic-write.js';

export interface MemoryKey {
  agent: string;
  /** A user, a project: whatever the memory is about. */
  scope: string;
}

export interface MemoryStore {
  read(key: MemoryKey, file: string): Promise<string | undefined>;
  write(key: MemoryKey, file: string, content: string): Promise<void>;
  /** File names directly inside `dir` (relative to the memory folder), oldest first by name. */
  list(key: MemoryKey, dir: string): Promise<string[]>;
}

const SAFE = /^[a-zA-Z0-9._-]{1,128}$/;

/**
 * The path of `rel` inside the (agent, scope) folder, relative to the store's root (`agent/scope/rel`, `/`
 * separated): agent and scope must be plain names and `rel` may not leave the folder, whatever the store.
 */
export function memoryPath(key: MemoryKey, rel: string): string {
  for (const part of [key.agent, key.scope]) {
    if (!SAFE.test(part) || part.startsWith('.'))
      throw new TypeError(`memory agent/scope '${part}' must be a plain name`);
  }
  const base = `/${key.agent}/${key.scope}`;
  const full = path.posix.resolve(base, rel);
  if (!full.startsWith(base + '/')) throw new TypeError(`memory path '${rel}' escapes the memory folder`);
  return full.slice(1);
}

export class LocalMemoryStore implements MemoryStore {
  constructor(private readonly root: string) {}

  private file(key: MemoryKey, rel: string): string {
    return path.join(this.root, ...memoryPath(key, rel).split('/'));
  }

  async read(key: MemoryKey, file: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(key, file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(key: MemoryKey, file: string, content: string): Promise<void> {
    const target = this.file(key, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFileAtomic(target, content);
  }

  async list(key: MemoryKey, dir: string): Promise<string[]> {
    try {
      return (await readdir(this.file(key, dir))).filter((n) => !n.endsWith(PARTIAL_SUFFIX)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
