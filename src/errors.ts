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
  /** Temporal (or another server Keel needs) does not answer. */
  | 'unreachable';

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

/** Thrown by the model layer; `retryable` follows HTTP semantics (408/409/429/5xx). */
export class ModelError extends KeelError {
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(message: string, options: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super('model_error', message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}
