/**
 * `auditRun`: the audit document of a run, from its Temporal history (every execution across continue-as-new)
 * and the blobs that history refers to. Works on running, completed, failed and cancelled runs alike.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { BlobStore } from '../storage/blob-store.js';
import { buildAudit } from './build.js';
import type { AuditDocument } from './document.js';
import type { HistoryEvent } from './events.js';
import { loadRunEvents } from './history.js';

export interface AuditOptions {
  /** Where the run's conversations and large outputs are (the workers' blob store). */
  blobs: BlobStore;
  /** The data converter the workers use (its payload codec decodes history); default Temporal's. */
  dataConverter?: DataConverter;
  /** Audit the run's child runs too, each in its record (default true). */
  tree?: boolean;
}

export async function auditRun(client: Client, runId: string, options: AuditOptions): Promise<AuditDocument> {
  const events = await loadRunEvents(client, runId, options.dataConverter);
  const doc = buildAudit(events, await referencedBlobs(events, options.blobs));
  doc.runId = runId;
  if (options.tree !== false) await auditChildren(client, doc, options);
  return doc;
}

/** Each child's own audit, in start order (a child whose history is gone is named in `gaps`). */
async function auditChildren(client: Client, doc: AuditDocument, options: AuditOptions): Promise<void> {
  for (const child of doc.children) {
    try {
      child.audit = await auditRun(client, child.runId, options);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      doc.gaps.push(`child run ${child.runId}: its history is no longer held by Temporal`);
    }
  }
}

const REF = /^sha256:[0-9a-f]{64}$/;

/** Refs under `baseRef` / `blob` / `prev` (conversation chunks) keys anywhere in `value` (images excluded: named, not shown). */
function collectRefs(value: unknown, into: Set<string>, key = ''): void {
  if (typeof value === 'string') {
    if ((key === 'baseRef' || key === 'blob' || key === 'prev') && REF.test(value)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k !== 'image') collectRefs(v, into, k);
  }
}

/** The text of every blob the events refer to, and of the blobs those (conversations) refer to in turn. */
async function referencedBlobs(events: HistoryEvent[], store: BlobStore): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  let wanted = new Set<string>();
  collectRefs(events, wanted);
  while (wanted.size) {
    const next = new Set<string>();
    for (const ref of wanted) {
      if (texts.has(ref)) continue;
      const bytes = await store.get(ref);
      if (!bytes) continue;
      const text = bytes.toString('utf8');
      texts.set(ref, text);
      if (text.startsWith('[') || text.startsWith('{"v":1,"kind":"keel.conversation"')) {
        try {
          collectRefs(JSON.parse(text), next);
        } catch {
          // a blob that merely starts with '[' (a tool's output): nothing more to follow
        }
      }
    }
    wanted = next;
  }
  return texts;
}

export type { AuditDocument } from './document.js';
export { renderAuditJson, renderAuditMarkdown } from './render.js';
