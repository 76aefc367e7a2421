/**
 * Pinned AgentSpecs by ref: `resolveAgent` stores each resolved spec in the blob store (content-addressed) and
 * keeps it in a small per-worker cache, so a model call carries the ref instead of the whole spec. A worker
 * whose blob store lacks the ref answers `BlobMissing`, and the workflow sends that call with the spec inline.
 */
import type { AgentSpec } from '../agents/spec.js';
import type { BlobStore } from '../storage/blob-store.js';
import { keelFailure } from '../failures.js';

const MAX_CACHED = 256;

export class PinnedSpecs {
  private readonly cache = new Map<string, AgentSpec>();

  constructor(private readonly blobs: BlobStore) {}

  /** Stores the spec and returns it with its ref. */
  async pin(spec: AgentSpec): Promise<AgentSpec> {
    const { ref: _previous, ...plain } = spec;
    const ref = await this.blobs.put(JSON.stringify(plain));
    this.remember(ref, plain);
    return { ...plain, ref };
  }

  async get(ref: string): Promise<AgentSpec> {
    const cached = this.cache.get(ref);
    if (cached) return cached;
    const bytes = await this.blobs.get(ref);
    if (!bytes) throw keelFailure('BlobMissing', `pinned agent spec ${ref} is not in this worker's blob store`);
    const spec = JSON.parse(bytes.toString('utf8')) as AgentSpec;
    this.remember(ref, spec);
    return spec;
  }

  private remember(ref: string, spec: AgentSpec): void {
    this.cache.delete(ref);
    this.cache.set(ref, spec);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
  }
}
