/**
 * Turns dockerode's HTTP-ish errors into SandboxErrors, so callers branch on `sandbox_gone` (the container is
 * removed or stopped: restore from a snapshot) versus `sandbox_unavailable` (the engine does not answer: retry).
 */
import { SandboxError } from '../errors.js';

interface DockerishError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** Maps any error thrown by dockerode for container `id`; SandboxErrors pass through unchanged. */
export function mapDockerError(err: unknown, id: string): SandboxError {
  if (err instanceof SandboxError) return err;
  const e = (err ?? {}) as DockerishError;
  const message = e.message ?? String(err);
  if (e.statusCode === 404 || /no such (container|exec)/i.test(message)) {
    return new SandboxError('sandbox_gone', `sandbox ${id} is gone (no such container)`, { cause: err });
  }
  if (e.statusCode === 409 || /is not running|is paused|container stopped/i.test(message)) {
    return new SandboxError('sandbox_gone', `sandbox ${id} is not running`, { cause: err });
  }
  if (e.code && ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e.code)) {
    return new SandboxError('sandbox_unavailable', `docker engine unavailable: ${message}`, { cause: err });
  }
  return new SandboxError('exec_failed', `docker error on sandbox ${id}: ${message}`, { cause: err });
}
