/**
 * `keel audit <runId> [--format md|json]`: the run's audit document on stdout, read from its Temporal history and
 * the local blob store (.keel/blobs, or KEEL_HOME).
 */
import { auditRun, renderAuditJson, renderAuditMarkdown } from '../audit/index.js';
import type { KeelClient } from '../client.js';
import { KeelError } from '../errors.js';
import { LocalBlobStore } from '../storage/blob-store.js';
import { keelPaths } from '../util/paths.js';

export async function auditCommand(client: KeelClient, runId: string | undefined, format = 'md'): Promise<number> {
  if (!runId) throw new KeelError('bad_usage', 'audit needs a run id');
  if (format !== 'md' && format !== 'json') throw new KeelError('bad_usage', `--format must be md or json, not '${format}'`);
  const doc = await auditRun(client.temporal, runId, { blobs: new LocalBlobStore(keelPaths.blobs()) });
  process.stdout.write(format === 'json' ? renderAuditJson(doc) : renderAuditMarkdown(doc));
  return 0;
}
