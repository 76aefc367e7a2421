/**
 * The run's Temporal message surface, defined once: the worker's workflow and the client import the same
 * objects, so names and payload types cannot drift. Names are public (DESIGN.md): keep them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { WorkspaceRequest } from '../agents/run-workspace.js';
import type { AgentSpec, ConversationOptions } from '../agents/spec.js';
import type { Budget } from '../agents/budget.js';
import type { EventLogState, EventsPage } from '../live/events.js';
import type { RunItem, RunState, SnapshotRef } from './run-state.js';
import type { ChildRun, ParentRef } from './tree.js';
import type { HistoryCursor } from './run/archive.js';

export const WORKFLOW_TYPE = 'agentRun';
export const DEFAULT_TASK_QUEUE = 'keel';

/** Payload of the `approve` and `reject` signals. */
export interface ApprovalSignal {
  callId: string;
  approver: string;
  reason?: string;
  /** Apply the same decision to this agent's tool for the rest of the run (alwaysApprove / alwaysReject). */
  always?: boolean;
  /**
   * `sha256:` + hex of the canonical arguments the approver saw (`argumentsDigest`, workflows/call-binding.ts). When
   * set, a call whose arguments hash otherwise is not decided. The client always sends it.
   */
  argsHash?: string;
  /**
   * The approver's Ed25519 signature over `{runId, agent, tool, callId, argsHash, decision, approver, reason,
   * always, time}` (agents/approver-keys.ts), where agent, tool and argsHash are the run's own record of the call.
   * Required when the agent has approver keys; ignored otherwise.
   */
  signature?: { time: string; value: string };
  /** Only for a call of the built-in `budget` tool, with `approve`: how much more the run tree may spend (signed too). */
  extendTokens?: number;
  extendUsd?: number;
}

export interface DecideInput extends ApprovalSignal {
  decision: 'approve' | 'reject';
}

export interface DecideResult {
  callId: string;
  decision: 'approve' | 'reject';
  /** Calls still waiting for a decision after this one. */
  stillPending: string[];
}

export const approveSignal = defineSignal<[ApprovalSignal]>('approve');
export const rejectSignal = defineSignal<[ApprovalSignal]>('reject');
export const decideUpdate = defineUpdate<DecideResult, [DecideInput]>('decide');
export const runStateQuery = defineQuery<RunState>('runState');

/** Input of the `agentRun` workflow. */
export interface AgentRunInput {
  agent: string;
  input: string | RunItem[];
  /** Free-form context passed to instructions functions, tools and guardrails. */
  context?: unknown;
  /** Overrides the agent's maxTurns for this run. */
  maxTurns?: number;
  /** A RunState to continue from (continue-as-new, `keel resume`, `keel fork`). */
  state?: RunState;
  /** Continue-as-new: what the blob store already holds of `state.items`, so the next model call sends only what is new. */
  historyCursor?: HistoryCursor;
  /** Restore the sandbox workspace from this snapshot instead of the manifest (fork / resume). */
  restoreSnapshot?: string;
  /** Continue-as-new every N turns even when Temporal does not suggest it yet (tests, very chatty agents). */
  continueAsNewEveryTurns?: number;
  /** How long the sandbox's host may take to pick up an activity before the run moves to another host. Default 30 s. */
  hostPickupTimeoutMs?: number;
  /** Stay open after each answer for `send` (overrides the agent's `conversation`). */
  conversation?: ConversationOptions | boolean;
  /** `false` turns token deltas off for this run. */
  streamTokens?: boolean;
  /** Continue-as-new: the event log so far, so event numbers go on where they were. */
  eventLog?: EventLogState;
  /** Continue-as-new of a conversation waiting for input: wait again instead of calling the model. */
  conversationIdle?: boolean;
  /** Continue-as-new in the middle of a conversation's answer: the turn by which it must be final. */
  turnLimit?: number;
  /** Set when a parent run (agent tool) or fan-out job started this run. */
  parent?: ParentRef;
  /** Continue-as-new: the AgentSpecs this run resolved, by agent name, so the run keeps them for its whole life. */
  pinnedSpecs?: Record<string, AgentSpec>;
  /** What this run's tree may spend (a start option, tightening the agent's; a child's grant from its parent). Untrusted: validated by the run. */
  budget?: Budget;
  /** This run's workspace: entries over the agent's manifest, or a snapshot to start from (agents/run-workspace.ts). */
  workspace?: WorkspaceRequest;
  /** The tenant the run belongs to (default the context's `tenant`/`tenantId`); a `fromSnapshot` must name a run of the same one. */
  tenant?: string;
}

/** Result of a completed run. */
export interface AgentRunResult {
  runId: string;
  agent: string;
  finalOutput: unknown;
  usage: RunState['usage'];
  turns: number;
  /** `usage` plus every descendant run's usage. */
  treeUsage?: RunState['usage'];
  /** Set when the run's container was kept at the end (`keepContainer`, or its last snapshot failed). */
  keptSandbox?: { containerId: string; host: string; reason: string; name?: string };
  /** The run's last workspace snapshot (read it with `client.workspace(runId)` or `keel files`), when it has a sandbox. */
  finalSnapshot?: SnapshotRef;
}

export const FAN_OUT_WORKFLOW_TYPE = 'fanOut';
/** The most inputs one fan-out job takes: each child adds events to the job's history. */
export const MAX_FAN_OUT_INPUTS = 1000;

/** One fan-out item with a workspace of its own. */
export interface FanOutItem {
  input: string;
  workspace?: WorkspaceRequest;
}

/** Input of the `fanOut` workflow (`client.startMany`). */
export interface FanOutInput {
  agent: string;
  /** Input strings, or `{ input, workspace }` items whose run gets that workspace. */
  inputs: (string | FanOutItem)[];
  /** The tenant of every item run. */
  tenant?: string;
  /** Children running at once. Default 4. */
  concurrency?: number;
  context?: unknown;
  maxTurns?: number;
  /** What all items together may spend; each item starts with a share of what is left (workflows/budget.ts). */
  budget?: Budget;
  /** Set when a parent started this job. */
  parent?: ParentRef;
}

/** One input's outcome, in input order. */
export type FanOutItemResult = ChildRun & { index: number };

/** Result of a fan-out job: every item's outcome (failures included) and the summed usage. */
export interface FanOutResult {
  runId: string;
  agent: string;
  items: FanOutItemResult[];
  completed: number;
  failed: number;
  usage: RunState['usage'];
}

// The live surface: events by cursor (a query, no history), waiting for the next ones (an update that answers only
// when there is something new, without a timer, so an idle subscriber costs no history), conversation input.

export interface SendInput {
  text: string;
}

export interface SendResult {
  /** The answer to this input (the run's output after the turn that answered it). */
  output: unknown;
  /** The model turn that produced the answer. */
  turn: number;
  /** The event `seq` of that answer's status event. */
  seq: number;
}

/** Events after a `seq`, at once. */
export const eventsQuery = defineQuery<EventsPage, [number]>('events');
/** Events after a `seq`, waiting until there are some. Rejected (no history) when some exist already. */
export const waitEventsUpdate = defineUpdate<EventsPage, [number]>('waitEvents');
/** Adds user input to a run (a conversation waiting for input, or a run between turns or paused on an approval). */
export const sendUpdate = defineUpdate<SendResult, [SendInput]>('send');
/** Closes a conversation: it answers what it was sent and ends. */
export const endConversationSignal = defineSignal('endConversation');
