/**
 * `keel audit <runId> [--format md|json]`: the run's audit document on stdout, read from its Temporal history and
 * the workers' blob store (KEEL_STORE, else .keel/blobs under KEEL_HOME).
 */
import { auditRun, renderAuditJson, renderAuditMarkdown } from '../audit/index.js';
import { codecFromEnv, dataConverterFor } from '../codec.js';
import { storesFromEnv } from '../storage/config.js';
import { connectClient, str, usage, type Command } from './command.js';

export const audit: Command = {
  name: 'audit',
  usage:
    'audit <runId> [--format md|json]  everything the run did, from its history (model calls, commands, diffs, approvals)',
  options: { format: { type: 'string' } },
  async run([runId], values) {
    if (!runId) usage('audit needs a run id');
    const format = str(values, 'format') ?? 'md';
    if (format !== 'md' && format !== 'json') usage(`--format must be md or json, not '${format}'`);
    const client = await connectClient();
    // The same codec the client decodes with (KEEL_CODEC_KEY / KEEL_CODEC_KEY_FILE), so encrypted histories read.
    const dataConverter = dataConverterFor(codecFromEnv());
    const doc = await auditRun(client.temporal, runId, { blobs: storesFromEnv().blobs, dataConverter });
    process.stdout.write(format === 'json' ? renderAuditJson(doc) : renderAuditMarkdown(doc));
    return 0;
  },
};
