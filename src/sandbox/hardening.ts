/**
 * The one place that decides how a sandbox container is locked down. Pure, so the policy is unit-tested without
 * Docker. /tmp, /workspace and the user's home are size-capped tmpfs mounts on a read-only root; Docker's archive
 * API cannot see tmpfs mounts, which is why every file operation goes through `docker exec` (see files.ts).
 */
import type { ContainerCreateOptions } from 'dockerode';
import type { SandboxCreateOptions, SandboxLimits } from './types.js';
import { keelVersion } from '../version.js';

/** Where the workspace lives inside every sandbox. */
export const WORKSPACE = '/workspace';
/** The unprivileged user commands run as (the image's `keel` user). */
export const SANDBOX_USER = '1000:1000';
/** That user's home directory, a small tmpfs of its own. */
export const SANDBOX_HOME = '/home/keel';

/** Container labels; `keel.sandbox=1` marks every container this layer owns, for reaping. */
export const LABELS = {
  sandbox: 'keel.sandbox',
  workflowId: 'keel.workflow-id',
  runId: 'keel.run-id',
  scope: 'keel.scope',
  version: 'keel.version',
} as const;

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = {
  memoryBytes: 1024 * MiB,
  nanoCpus: 1e9,
  pidsLimit: 256,
  tmpBytes: 64 * MiB,
  workspaceBytes: 512 * MiB,
};

/** Fills in defaults and rejects limits Docker would misread (zero or negative means "unlimited" to it). */
export function resolveLimits(limits: Partial<SandboxLimits> = {}): SandboxLimits {
  const resolved = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(`sandbox limit ${name} must be a positive integer, got ${value}`);
    }
  }
  return resolved;
}

/** Builds the create options for a hardened sandbox container. */
export function buildContainerOptions(options: SandboxCreateOptions): ContainerCreateOptions {
  const limits = resolveLimits(options.limits);
  return {
    Image: options.image,
    Cmd: ['sleep', 'infinity'],
    User: SANDBOX_USER,
    WorkingDir: WORKSPACE,
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABELS.sandbox]: '1',
      [LABELS.workflowId]: options.labels.workflowId,
      [LABELS.runId]: options.labels.runId,
      ...(options.labels.scope ? { [LABELS.scope]: options.labels.scope } : {}),
      [LABELS.version]: keelVersion,
    },
    HostConfig: {
      NetworkMode: options.network ? 'bridge' : 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: {
        '/tmp': `rw,exec,nosuid,nodev,size=${limits.tmpBytes},mode=1777`,
        [WORKSPACE]: `rw,exec,nosuid,nodev,size=${limits.workspaceBytes},uid=1000,gid=1000,mode=0755`,
        // A writable home (git config --global, pip and npm caches) on the read-only root; capped like /tmp.
        [SANDBOX_HOME]: `rw,nosuid,nodev,size=${limits.tmpBytes},uid=1000,gid=1000,mode=0700`,
      },
      PidsLimit: limits.pidsLimit,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      Init: true,
      AutoRemove: false,
    },
  };
}
