/**
 * Event histories of runs, across continue-as-new: a run is a chain of Temporal executions under one workflow id,
 * each started with the previous one's runId (`continuedExecutionRunId`).
 */
import proto from '@temporalio/proto';
import type { temporal as protoTypes } from '@temporalio/proto';

const { temporal } = proto;

type History = protoTypes.api.history.v1.IHistory;

/** Histories of every execution of `workflowId`, oldest first (the audit's loader, shared). */
export { historyChain } from '../../src/audit/history.js';

/** Encoded size of a history, as the server stores and sends it. */
export function historyBytes(history: History): number {
  return temporal.api.history.v1.History.encode(history).finish().length;
}

/**
 * A history as plain JSON (protobufjs object form: 64-bit ints and bytes as strings, enums by name), and back.
 * Not `historyToJSON`/`historyFromJSON` from @temporalio/common: with npm's current layout, common and proto
 * each get their own copy of protobufjs and those helpers throw "type must be a Type".
 */
export function historyToObject(history: History): unknown {
  const H = temporal.api.history.v1.History;
  return H.toObject(H.fromObject(history), { longs: String, enums: String, bytes: String });
}

export function historyFromObject(json: unknown): History {
  return temporal.api.history.v1.History.fromObject(json as Record<string, unknown>);
}
