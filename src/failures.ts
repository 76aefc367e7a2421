/**
 * Every failure Keel puts on the wire, as data: the `ApplicationFailure.type` strings (recorded in histories, so
 * they never change spelling) and the `code`s of KeelError, each with whether Temporal retries it and the one line
 * that says what it means. Callers (client, CLI, serve, audit) branch on these types, never on message text.
 *
 * Imported by workflow code: no Node APIs, no zod (only @temporalio/common, which workflows bundle anyway).
 */
import { ApplicationFailure } from '@temporalio/common';

export interface FailureInfo {
  /** Whether Temporal retries the activity that raised it (a workflow-level failure is never retried). */
  readonly retryable: boolean;
  /** What the failure means, in one line (the failure's own message says which call, run or value). */
  readonly summary: string;
}

/** Failure types: `ApplicationFailure.type`, and `RunState.error.type` when a run ends with one. */
export const FAILURES = {
  // A run's end, raised by the workflow (run/*.ts).
  MaxTurnsExceeded: { retryable: false, summary: 'the run reached its turn limit without a final output' },
  TooManyToolFailures: { retryable: false, summary: 'tool calls kept failing (maxConsecutiveToolFailures)' },
  InvalidOutput: { retryable: false, summary: "the model's final output stayed invalid after one retry" },
  InputGuardrailTripwire: { retryable: false, summary: 'an input guardrail tripped' },
  OutputGuardrailTripwire: { retryable: false, summary: 'an output guardrail tripped' },
  ToolGuardrailTripwire: { retryable: false, summary: 'a tool guardrail tripped' },
  ApprovalTimeout: { retryable: false, summary: 'no approval decision came within the approval timeout' },
  RunWorkspaceRefused: { retryable: false, summary: "the start request's workspace is not one the agent allows" },
  RunWorkspaceUnavailable: {
    retryable: false,
    summary: "a repository, snapshot or directory the start request's workspace names cannot be had",
  },
  BudgetExceeded: {
    retryable: false,
    summary: "the run tree reached its budget (onExceed 'fail', or an extension was refused)",
  },
  Error: { retryable: false, summary: 'a failure Keel did not type (its message says what)' },
  Cancelled: { retryable: false, summary: 'the run was cancelled' },

  // Activities (the class name of a KeelError is its type; the code is in the failure's details).
  KeelError: { retryable: false, summary: 'a Keel error; its code (details) says which and whether it is retried' },
  SandboxError: {
    retryable: false,
    summary: 'a sandbox error; its code (details) says which and whether it is retried',
  },
  ModelError: { retryable: true, summary: 'the model API answered with an error or could not be reached' },
  ModelResponseInvalid: {
    retryable: false,
    summary: "the model's response could not be read (asking again would pay again)",
  },
  ModelIncomplete: { retryable: false, summary: 'the model could not finish its answer (length or content limit)' },
  BlobMissing: { retryable: false, summary: "a blob the call needs is not in this worker's blob store" },
  SandboxGone: { retryable: false, summary: "the run's container no longer exists" },
  SandboxHostFull: { retryable: false, summary: 'every sandbox host is full (the run waits in line)' },
  SnapshotLimit: { retryable: false, summary: 'a workspace snapshot is over its size cap' },
  McpServerUnavailable: { retryable: false, summary: 'an MCP server in the sandbox could not be reached' },
  WebhookUndelivered: { retryable: true, summary: 'a webhook endpoint did not accept the delivery' },

  // Approval decisions refused by the `decide` update (or recorded as `approval_refused`).
  BadDecision: {
    retryable: false,
    summary: "a decision needs a callId, a non-empty approver and 'approve' or 'reject'",
  },
  NotPending: { retryable: false, summary: 'no pending approval has this call id' },
  AlreadyDecided: { retryable: false, summary: 'the call was already decided' },
  WrongArguments: { retryable: false, summary: 'the decision was made for other arguments than the call has now' },
  NotAnApprover: { retryable: false, summary: 'the approver may not decide for this agent' },
  Unsigned: { retryable: false, summary: "this agent's decisions must be signed by an approver's key" },
  BadSignature: { retryable: false, summary: "the signature does not verify with the approver's key" },

  // Live runs: the `send` and `waitEvents` updates.
  EventsReady: { retryable: false, summary: 'events after the cursor are ready: query them' },
  RunClosed: { retryable: false, summary: 'the run has ended or is ending' },
  Continuing: { retryable: false, summary: 'the run is continuing as new: ask again' },
  BadCursor: { retryable: false, summary: 'the cursor is not an event of this run' },
  BadInput: { retryable: false, summary: 'the input is malformed or over a limit' },
} as const satisfies Record<string, FailureInfo>;

export type FailureType = keyof typeof FAILURES;

/** Why a decision does not count (the `decide` update's rejection types). */
export const DECISION_FAILURES = [
  'BadDecision',
  'NotPending',
  'AlreadyDecided',
  'WrongArguments',
  'NotAnApprover',
  'Unsigned',
  'BadSignature',
] as const satisfies readonly FailureType[];
export type DecisionFailureType = (typeof DECISION_FAILURES)[number];

/** Decision problems whose fix is another identity (HTTP 403), not another request (409). */
export const IDENTITY_PROBLEMS: readonly DecisionFailureType[] = ['NotAnApprover', 'Unsigned', 'BadSignature'];

/** Why a decision does not count: its type and the message the approver sees. */
export interface DecisionProblem {
  type: DecisionFailureType;
  message: string;
}

/** Whether `type` names a decision problem (a client reading an update failure). */
export const isDecisionFailure = (type: string | null | undefined): type is DecisionFailureType =>
  (DECISION_FAILURES as readonly string[]).includes(type ?? '');

/** The run-ending types by their former names (public since 0.x; prefer the type strings, checked by FailureType). */
export const FAILURE_TYPES = {
  maxTurns: 'MaxTurnsExceeded',
  toolFailures: 'TooManyToolFailures',
  invalidOutput: 'InvalidOutput',
  input: 'InputGuardrailTripwire',
  output: 'OutputGuardrailTripwire',
  tool: 'ToolGuardrailTripwire',
  approvalTimeout: 'ApprovalTimeout',
  /** The run tree reached its budget: workflows/run/budget-step.ts. */
  budget: 'BudgetExceeded',
} as const satisfies Record<string, FailureType>;

/** KeelError codes (details.code of a KeelError or SandboxError failure). */
export const ERROR_CODES = {
  bad_usage: { retryable: false, summary: 'the request or configuration is wrong; fix it and try again' },
  agent_not_found: {
    retryable: true,
    summary: 'no agent of that name is registered (yet: a rolling deploy may bring it)',
  },
  model_error: { retryable: false, summary: 'the model call failed (a ModelError carries its own retryability)' },
  blob_missing: { retryable: false, summary: 'a blob the request needs is not in the configured blob store' },
  unreachable: { retryable: false, summary: 'Temporal (or another server Keel needs) does not answer' },
  transient: { retryable: true, summary: 'a dependency that may come back (a git remote, the Docker engine)' },
  path_escape: { retryable: false, summary: 'a path leaves the sandbox workspace' },
  not_found: { retryable: false, summary: 'no such file in the sandbox' },
  too_large: { retryable: false, summary: 'a file or output is over its size limit' },
  sandbox_gone: { retryable: true, summary: 'the container no longer exists (the retry restores it from a snapshot)' },
  sandbox_unavailable: { retryable: true, summary: 'the sandbox is busy or not reachable yet' },
  exec_failed: { retryable: false, summary: 'a command could not be run in the sandbox' },
  io_error: {
    retryable: false,
    summary: 'a file operation failed inside the sandbox (a directory, no space left, ...)',
  },
} as const satisfies Record<string, FailureInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An ApplicationFailure of `type`, retried or not as the table says. */
export function keelFailure(type: FailureType, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !FAILURES[type].retryable, details });
}

/** Whether `err` is an ApplicationFailure of `type`. */
export const isFailure = (err: unknown, type: FailureType): err is ApplicationFailure =>
  err instanceof ApplicationFailure && err.type === type;
