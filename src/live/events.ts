/**
 * Run events: what `client.stream(runId)` yields. Durable events are numbered by the run itself (`seq`, 1, 2, ...)
 * and derived from its RunState, so they replay identically and a subscriber resumes from any `seq` with no gap
 * and no duplicate. Token deltas (`delta`) come through the broker and are not numbered durably.
 * No Node APIs here: the workflow bundle imports this module.
 */
import type { PendingApproval, RunItem, RunState, RunStatus } from '../workflows/run-state.js';
import { childUsage, sumUsage, type ChildRun } from '../workflows/tree.js';
import { spendOf, type Spend } from '../agents/budget.js';

export type DurableEventBody =
  /** An item landed in the run's record (model message, tool call or result, approval decision, handoff, guardrail, compaction). */
  | { type: 'item'; item: RunItem }
  /** A model turn starts (its token deltas, if any, follow). */
  | { type: 'turn'; turn: number }
  /** A tool call waits for a human decision. */
  | { type: 'approval_requested'; approval: PendingApproval }
  /** A child run (agent tool, fan-out item) started or ended: a tree-following subscriber opens or closes its stream. */
  | { type: 'child'; child: Pick<ChildRun, 'runId' | 'agent' | 'status' | 'callId' | 'index' | 'error'> }
  /**
   * The run's status changed; `output` on completion and on each conversation answer, `error` on failure, and
   * when the run ends or waits for a human, `spend`: what its tree spent so far (workflows/budget.ts).
   */
  | { type: 'status'; status: RunStatus; output?: unknown; error?: { type: string; message: string }; spend?: Spend };

/**
 * A numbered event. `run` names the run that produced it when that is not the streamed run itself (a child run,
 * for agents used as tools), so a tree can be drawn from one stream.
 */
export type DurableEvent = DurableEventBody & { seq: number; turn: number; at: string; agent: string; run?: string };

/** A piece of the model's text while it is generated. `attempt` restarts the text when a model call is retried. */
export interface DeltaEvent {
  type: 'delta';
  /** The durable `seq` this delta follows (deltas are not part of the durable cursor). */
  seq: number;
  turn: number;
  attempt: number;
  index: number;
  text: string;
  /** Publisher's clock (ms since epoch) when the delta was published. */
  publishedAt: number;
}

/** Emitted when the subscriber's cursor is older than what the run still holds: events `from`..`to` are gone. */
export interface GapEvent {
  type: 'gap';
  seq: number;
  from: number;
  to: number;
  run?: string;
}

export type RunEvent = DurableEvent | DeltaEvent | GapEvent;

/** What the `events` query and the `waitEvents` update return. */
export interface EventsPage {
  events: DurableEvent[];
  /** The highest `seq` the run has assigned. */
  lastSeq: number;
  /** Oldest `seq` the run still holds (older ones were dropped to keep the state bounded). */
  firstSeq: number;
  /** Highest turn whose model output landed (token deltas of it and earlier turns are over). */
  modelTurn: number;
  /** The run ended (completed, failed, cancelled): no more events will come from this execution chain. */
  done: boolean;
  /** This execution continues as new: ask again (the next execution carries the log on). */
  continuing: boolean;
}

/** The log carried across continue-as-new. */
export interface EventLogState {
  lastSeq: number;
  events: DurableEvent[];
  /** Items of `state.items` already turned into events. */
  itemsSeen: number;
  status?: RunStatus;
  pendingSeen: string[];
  modelTurn: number;
  /** The last status each child was reported with (absent in logs carried by older executions). */
  childrenSeen?: Record<string, string>;
}

/** Events held in memory (and answered from) per execution; a slower subscriber gets a `gap` event. */
export const EVENT_LOG_LIMIT = 1000;
/**
 * Events carried across continue-as-new. They ride in every new execution's input, so this bounds what a long run
 * pays per continue-as-new (200 made a 300-turn run's history 3x larger); a subscriber further behind gets `gap`.
 */
export const EVENT_CARRY_LIMIT = 50;
const TERMINAL: RunStatus[] = ['completed', 'failed', 'cancelled'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL.includes(status);
}

/**
 * Turns changes of a RunState into numbered events. `sync` is a pure function of the state it is given and of the
 * log so far, so calling it at the same points of the workflow on replay yields the same events.
 */
export class EventLog {
  private log: EventLogState;

  constructor(carried?: EventLogState) {
    this.log = carried
      ? { ...carried, events: [...carried.events] }
      : { lastSeq: 0, events: [], itemsSeen: 0, pendingSeen: [], modelTurn: 0 };
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  /** Appends an event that state diffs cannot see (a turn starting). */
  emit(state: RunState, body: DurableEventBody, at: string): void {
    const event = { ...body, seq: ++this.log.lastSeq, turn: state.turn, at, agent: state.agent } as DurableEvent;
    this.log.events.push(event);
    if (this.log.events.length > EVENT_LOG_LIMIT) this.log.events.splice(0, this.log.events.length - EVENT_LOG_LIMIT);
  }

  /** Emits what changed since the last sync: new items, then new pending approvals, then a status change. */
  sync(state: RunState, at: string): void {
    for (const item of state.items.slice(this.log.itemsSeen)) {
      if (item.type === 'tool_call' || (item.type === 'message' && item.role === 'assistant'))
        this.log.modelTurn = state.turn;
      this.emit(state, { type: 'item', item }, at);
    }
    this.log.itemsSeen = state.items.length;
    for (const approval of state.pendingApprovals) {
      if (!this.log.pendingSeen.includes(approval.callId))
        this.emit(state, { type: 'approval_requested', approval }, at);
    }
    this.log.pendingSeen = state.pendingApprovals.map((p) => p.callId);
    this.syncChildren(state, at);
    if (state.status !== this.log.status) {
      this.log.status = state.status;
      const extra =
        state.status === 'completed' || state.status === 'awaiting_input'
          ? { output: state.finalOutput }
          : state.status === 'failed'
            ? { error: state.error }
            : {};
      this.emit(state, { type: 'status', status: state.status, ...extra, ...spendAt(state) }, at);
    }
  }

  /** One event per child whose status changed (queued fan-out items are not reported until they start). */
  private syncChildren(state: RunState, at: string): void {
    const seen = (this.log.childrenSeen ??= {});
    for (const c of state.children ?? []) {
      if (c.status === 'queued' || seen[c.runId] === c.status) continue;
      seen[c.runId] = c.status;
      this.emit(
        state,
        {
          type: 'child',
          child: { runId: c.runId, agent: c.agent, status: c.status, callId: c.callId, index: c.index, error: c.error },
        },
        at,
      );
    }
  }

  /** Compaction replaced the first `cut` items by one summary item, which becomes an event of its own. */
  compacted(state: RunState, cut: number, at: string): void {
    this.emit(state, { type: 'item', item: state.items[0] }, at);
    this.log.itemsSeen = Math.max(1, this.log.itemsSeen - cut + 1);
  }

  page(after: number, flags: { done: boolean; continuing: boolean }): EventsPage {
    const firstSeq = this.log.events[0]?.seq ?? this.log.lastSeq + 1;
    const events = this.log.events.filter((e) => e.seq > after);
    return { events, lastSeq: this.log.lastSeq, firstSeq, modelTurn: this.log.modelTurn, ...flags };
  }

  /** What continue-as-new carries: the counters and the most recent events; `moved` items leave `state.items` (archived). */
  carry(moved = 0): EventLogState {
    return {
      ...this.log,
      itemsSeen: Math.max(0, this.log.itemsSeen - moved),
      events: this.log.events.slice(-EVENT_CARRY_LIMIT),
    };
  }
}

/** The tree's spend, on the statuses where someone looks at it (ended, or waiting for a human). */
function spendAt(state: RunState): { spend?: Spend } {
  if (state.status === 'running' || state.status === 'waiting_for_sandbox') return {};
  return { spend: spendOf(sumUsage([state.usage, childUsage(state.children ?? [])])) };
}
