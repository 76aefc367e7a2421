/**
 * The client side of `client.stream(runId)`: durable events from the run itself (query first, then a waiting update
 * only when there is nothing new), merged with token deltas from the broker. Deltas of a model turn whose output
 * already landed when the subscriber joined are dropped, so a late or resumed subscriber sees no stale text; a
 * live subscriber gets every delta, sometimes just after the item that holds the whole text.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { KeelError } from '../errors.js';
import type { DeltaBroker } from './broker.js';
import type { DeltaEvent, EventsPage, RunEvent } from './events.js';
import { abortable, mergeSources, type Source } from './merge.js';
import { eventsQuery, waitEventsUpdate } from '../workflows/messages.js';
import type { FailureType } from '../failures.js';

export interface StreamOptions {
  /** Resume after this event `seq` (0 = from the start). */
  after?: number;
  /** Token deltas through the broker when the client has one. Default true. */
  tokens?: boolean;
  /** Stops the stream. */
  signal?: AbortSignal;
  /**
   * Follow the run's children too (agent tools, fan-out items, and theirs): their events arrive tagged with `run`,
   * and the stream ends when the whole tree has. Children's token deltas are not followed (their items are).
   */
  tree?: boolean;
}

/** Shared between the two sources: how far the durable side got. */
interface Progress {
  seq: number;
  /** Highest turn whose model output had landed when the subscriber joined: deltas of it and earlier are stale. */
  modelTurn: number;
  done: boolean;
}

const updateRejection = (err: unknown): FailureType | undefined => {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  return cause instanceof ApplicationFailure ? ((cause.type ?? undefined) as FailureType | undefined) : undefined;
};

/** One page of events after `after`: a query, then (if nothing is new) an update that waits for the next ones. */
async function nextPage(handle: WorkflowHandle, after: number, signal: AbortSignal): Promise<EventsPage> {
  const page = await abortable(handle.query(eventsQuery, after), signal);
  if (page.events.length || page.done) return page;
  try {
    return await abortable(handle.executeUpdate(waitEventsUpdate, { args: [after] }), signal);
  } catch (err) {
    if (updateRejection(err) === 'BadCursor') {
      throw new KeelError(
        'bad_usage',
        `cursor ${after} is ahead of run ${handle.workflowId} (its last event is ${page.lastSeq})`,
      );
    }
    // The execution closed (ended or continued as new) while the update was on its way: the next query tells.
    if (err instanceof WorkflowNotFoundError || updateRejection(err)) return { ...page, continuing: true };
    throw err;
  }
}

function durableSource(handle: WorkflowHandle, progress: Progress): Source<RunEvent> {
  return async function* (signal) {
    for (;;) {
      let page: EventsPage;
      try {
        page = await nextPage(handle, progress.seq, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (!isTransient(err)) throw err;
        await sleep(100); // a continued run whose first task has not run yet
        continue;
      }
      if (page.firstSeq > progress.seq + 1 && page.events.length) {
        yield { type: 'gap', seq: page.firstSeq - 1, from: progress.seq + 1, to: page.firstSeq - 1 };
      }
      for (const event of page.events) {
        progress.seq = event.seq;
        yield event;
      }
      if (page.done && progress.seq >= page.lastSeq) {
        progress.done = true;
        return;
      }
    }
  };
}

/**
 * A failure to ask again: a continued run not started yet, or no worker to answer for now (a worker restart). The
 * client wraps gRPC errors (`ServiceError: Failed to query Workflow`, cause `DEADLINE_EXCEEDED: query timed out
 * before a worker could process it`), so the causes count too.
 */
export function isTransient(err: unknown): boolean {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) {
    if (/hasn't started|not started|no poller|deadline/i.test(String((e as Error)?.message ?? e))) return true;
  }
  return false;
}

function deltaSource(broker: DeltaBroker, namespace: string, runId: string, progress: Progress): Source<RunEvent> {
  return async function* (signal) {
    const stop = () => (signal.aborted ? 'now' : progress.done ? 'drain' : undefined);
    // Deltas of turns whose output had landed when this subscriber joined are stale; later ones may trail their item.
    const joinedAfterTurn = progress.modelTurn;
    for await (const d of broker.read(namespace, runId, '0-0', stop)) {
      if (d.turn <= joinedAfterTurn) continue;
      const event: DeltaEvent = {
        type: 'delta',
        seq: progress.seq,
        turn: d.turn,
        attempt: d.attempt,
        index: d.index,
        text: d.text,
        publishedAt: d.publishedAt,
      };
      yield event;
    }
  };
}

/** Ordered events of one run: durable ones numbered by the run, token deltas in between where a broker is given. */
function runSource(
  handle: WorkflowHandle,
  broker: DeltaBroker | undefined,
  namespace: string,
  options: StreamOptions,
  tag?: string,
): Source<RunEvent> {
  return async function* (signal) {
    const progress: Progress = { seq: options.after ?? 0, modelTurn: 0, done: false };
    // Which turns' model output already landed, so stale deltas of a late or resumed subscriber are dropped.
    for (;;) {
      try {
        progress.modelTurn = (await abortable(handle.query(eventsQuery, progress.seq), signal)).modelTurn;
        break;
      } catch (err) {
        // A child that never started (its start failed): its parent's `child` event already says why.
        if (tag && err instanceof WorkflowNotFoundError) return;
        if (signal.aborted || !isTransient(err)) throw err;
        await sleep(100); // a subscriber joining while no worker runs (a restart) waits for one
      }
    }
    const sources: Source<RunEvent>[] = [durableSource(handle, progress)];
    if (broker && options.tokens !== false) sources.push(deltaSource(broker, namespace, handle.workflowId, progress));
    for await (const event of mergeSources(sources, signal))
      yield tag && event.type !== 'delta' && !event.run ? { ...event, run: tag } : event;
  };
}

/** A run's events; with `tree`, its descendants' too, each followed from its start as soon as the run reports it. */
export async function* streamRun(
  handleFor: (runId: string) => WorkflowHandle,
  runId: string,
  broker: DeltaBroker | undefined,
  namespace: string,
  options: StreamOptions = {},
): AsyncGenerator<RunEvent> {
  const followed = new Set<string>([runId]);
  const follow = (event: RunEvent): Source<RunEvent>[] => {
    if (!options.tree || event.type !== 'child' || followed.has(event.child.runId)) return [];
    followed.add(event.child.runId);
    return [runSource(handleFor(event.child.runId), undefined, namespace, { after: 0 }, event.child.runId)];
  };
  yield* mergeSources([runSource(handleFor(runId), broker, namespace, options)], options.signal, follow);
}
