/**
 * Event histories of runs, across continue-as-new: a run is a chain of Temporal executions under one workflow id,
 * each started with the previous one's runId (`continuedExecutionRunId`).
 */
import proto from '@temporalio/proto';
import type { temporal as protoTypes } from '@temporalio/proto';

const { temporal } = proto;

type History = protoTypes.api.history.v1.IHistory;

import { historyChain } from '../../src/audit/history.js';

/** Histories of every execution of `workflowId`, oldest first (the audit's loader, shared). */
export { historyChain };

/** Event time in ms since the epoch. */
export function eventMs(e: protoTypes.api.history.v1.IHistoryEvent): number {
  return Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
}

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

/** Every execution's history of a run as the server stores it (protobuf bytes), for searching for leaked bytes. */
export async function encodedHistories(
  client: Parameters<typeof historyChain>[0],
  workflowId: string,
): Promise<Buffer[]> {
  const H = temporal.api.history.v1.History;
  return (await historyChain(client, workflowId)).map((h) => Buffer.from(H.encode(h).finish()));
}

/** Where a secret's bytes (raw or base64) occur among `haystacks`, as "<where>: <form>" lines; empty when nowhere. */
export function secretSightings(secrets: string[], haystacks: [string, Buffer][]): string[] {
  const needles = secrets.flatMap(
    (s) =>
      [
        ['raw', Buffer.from(s)],
        ['base64', Buffer.from(Buffer.from(s).toString('base64'))],
      ] as const,
  );
  return haystacks.flatMap(([where, bytes]) =>
    needles.filter(([, n]) => bytes.includes(n)).map(([form]) => `${where}: ${form}`),
  );
}

/** Bytes of the input an execution continued as new with (its WorkflowExecutionContinuedAsNew event's payloads). */
export function continuedAsNewInputBytes(history: History): number {
  const event = history.events?.find((e) => e.workflowExecutionContinuedAsNewEventAttributes);
  const payloads = event?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads ?? [];
  return payloads.reduce((n, p) => n + temporal.api.common.v1.Payload.encode(p).finish().length, 0);
}
