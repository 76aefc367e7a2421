/**
 * MemoryStore in an S3-compatible bucket (KEEL_STORE=s3://bucket/prefix: under `<prefix>memory/agent/scope/`), so
 * every host reads what any host learned. Concurrent extraction loses nothing because it never rewrites a shared
 * object: each run writes its own raw memory, rollout summary and session log (keys named by the run), an append
 * log of immutable objects; only consolidation (one workflow per scope) and a run's live edits rewrite MEMORY.md.
 */
import { memoryPath, type MemoryKey, type MemoryStore } from './memory-store.js';
import { S3Objects, type S3Location } from './s3-objects.js';

export class S3MemoryStore implements MemoryStore {
  private readonly objects: S3Objects;

  constructor(at: S3Location) {
    this.objects = new S3Objects(at);
  }

  async read(key: MemoryKey, file: string): Promise<string | undefined> {
    return (await this.objects.get(memoryPath(key, file)))?.toString('utf8');
  }

  async write(key: MemoryKey, file: string, content: string): Promise<void> {
    await this.objects.put(memoryPath(key, file), Buffer.from(content, 'utf8'));
  }

  async list(key: MemoryKey, dir: string): Promise<string[]> {
    const folder = `${memoryPath(key, dir)}/`;
    const names: string[] = [];
    for await (const o of this.objects.list(folder, { flat: true })) names.push(o.name.slice(folder.length));
    return names.sort();
  }
}
