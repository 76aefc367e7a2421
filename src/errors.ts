/**
 * Error classes, one base per layer. Each carries a `code` so callers branch on data, not on messages, and the
 * activity boundary maps each to Temporal's retry behaviour (the ERROR_CODES table in failures.ts).
 */
import type { DecisionFailureType, ErrorCode } from './failures.js';

/** The codes of the Keel layer; what each means and whether it is retried is in failures.ts (ERROR_CODES). */
export type KeelErrorCode = Exclude<ErrorCode, SandboxErrorCode>;

export class KeelError extends Error {
  readonly code: KeelErrorCode | SandboxErrorCode;
  constructor(code: KeelErrorCode | SandboxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A decision the run did not take; `type` says why (NotPending, AlreadyDecided, NotAnApprover, BadSignature, ...). */
export class DecisionError extends KeelError {
  readonly type: DecisionFailureType;
  constructor(type: DecisionFailureType, message: string, options?: ErrorOptions) {
    super('bad_usage', message, options);
    this.type = type;
  }
}

/** The codes of the sandbox layer. */
export type SandboxErrorCode = Extract<
  ErrorCode,
  'path_escape' | 'not_found' | 'too_large' | 'sandbox_gone' | 'sandbox_unavailable' | 'exec_failed' | 'io_error'
>;

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
  constructor(
    message: string,
    options: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown; kind?: ModelErrorKind },
  ) {
    super('model_error', message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.kind = options.kind ?? (options.status ? 'http' : 'network');
  }
}
