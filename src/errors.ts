/**
 * Error classes, one base per layer. Each carries a `code` so callers branch on data, not on messages, and the
 * activity boundary maps each to Temporal's retry behaviour (see activities/failures.ts).
 */

export type KeelErrorCode =
  | 'bad_usage'
  | 'agent_not_found'
  | 'model_error'
  | 'tool_error'
  | 'max_turns_exceeded'
  | 'too_many_tool_failures'
  | 'invalid_output'
  | 'guardrail_tripwire'
  | 'approval_timeout'
  | 'state_version'
  /** A blob the request needs (say, a run's archived conversation) is not in the configured blob store. */
  | 'blob_missing'
  /** Temporal (or another server Keel needs) does not answer. */
  | 'unreachable'
  /** A dependency that may come back (a git remote, the Docker engine, an agent not yet deployed): retried. */
  | 'transient';

export class KeelError extends Error {
  readonly code: KeelErrorCode | SandboxErrorCode;
  constructor(code: KeelErrorCode | SandboxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export type SandboxErrorCode =
  | 'path_escape'
  | 'not_found'
  | 'too_large'
  | 'sandbox_gone'
  | 'sandbox_unavailable'
  | 'exec_failed'
  /** A file operation failed inside the sandbox (a directory where a file was expected, no space left, ...). */
  | 'io_error';

/** Errors of the sandbox layer. `sandbox_gone` means the container no longer exists. */
export class SandboxError extends KeelError {
  constructor(code: SandboxErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * What went wrong with a model call: an HTTP error, no connection, a response Keel cannot read (never retried:
 * it was paid for and would be paid again), or an answer the model could not finish (`status: incomplete`,
 * `finish_reason: length`): a typed failure, never a truncated final output.
 */
export type ModelErrorKind = 'http' | 'network' | 'invalid_response' | 'incomplete';

/** Thrown by the model layer; `retryable` follows HTTP semantics (408/409/429/5xx) and network errors. */
export class ModelError extends KeelError {
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly kind: ModelErrorKind;
  constructor(message: string, options: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown; kind?: ModelErrorKind }) {
    super('model_error', message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.kind = options.kind ?? (options.status ? 'http' : 'network');
  }
}
