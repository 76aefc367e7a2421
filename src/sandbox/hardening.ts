/**
 * The one place that decides how a sandbox container is locked down. Pure, so the policy is unit-tested without
 * Docker. /tmp, /workspace and the user's home are size-capped tmpfs mounts on a read-only root. The container's
 * main process is the in-sandbox agent (docker-agent.ts), running as root with only the capabilities it needs to
 * run commands as the sandbox user and to kill them; commands run as uid 1000 with no capabilities at all.
 */
import type { ContainerCreateOptions } from 'dockerode';
import { SandboxError } from '../errors.js';
import type { SandboxCreateOptions, SandboxLimits } from './types.js';
import { keelVersion } from '../version.js';
import { AGENT_DIR, AGENT_PATH, NO_COPY } from './docker-agent.js';
import { checkNetwork } from './egress/policy.js';
import { EGRESS_LABELS } from './egress/sidecar.js';

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
  /** On warm-pool containers: the pool shape's key. Their owner is set later, in the agent (`claim`). */
  pool: 'keel.pool',
} as const;

/** The agent's private state (journal): a root-only tmpfs the sandbox user cannot read or write. */
export const AGENT_STATE = '/run/keel';
/**
 * Under gVisor the engine's pids limit also counts the sandbox kernel's own threads (sentry, gofer), and a sentry
 * that cannot make a thread takes the whole sandbox down: they get this much room on top of the commands' limit.
 */
export const GVISOR_PIDS_OVERHEAD = 256;
/** All the agent needs: run commands as another user (setuid/setgid) and kill them (they are not its uid). */
export const AGENT_CAPABILITIES = ['SETUID', 'SETGID', 'KILL'];

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

/** How one container is made: the sandbox's options plus where the agent binary is and who owns it. */
export interface ContainerPlan {
  options: SandboxCreateOptions;
  /** The volume holding the agent binary (docker-agent.ts). */
  agentVolume: string;
  /** Warm-pool containers: the pool's key, and how long the agent waits to be claimed before it exits. */
  pool?: { key: string; idleExitMs: number };
  /** Networked sandboxes: their own egress network (egress/sidecar.ts), the only network they join. */
  egressNetwork?: string;
}

/** Refuses option combinations the engine would get wrong silently. */
export function checkOptions(options: SandboxCreateOptions): void {
  checkNetwork(options.network);
  if (options.runtime === 'runsc' && options.network) {
    throw new SandboxError(
      'sandbox_unavailable',
      "gVisor sandboxes (runtime: 'runsc') have no network here: Debian's runsc is registered with --network=none. Use network: false, or the default runtime for a networked sandbox",
    );
  }
}

/** Builds the create options for a hardened sandbox container. */
export function buildContainerOptions(plan: ContainerPlan): ContainerCreateOptions {
  const { options } = plan;
  checkOptions(options);
  if (options.network && !plan.egressNetwork)
    throw new Error('a networked sandbox needs its egress network (startEgress)');
  const limits = resolveLimits(options.limits);
  const owner: Record<string, string> = plan.pool
    ? { [LABELS.pool]: plan.pool.key }
    : { [LABELS.workflowId]: options.labels.workflowId, [LABELS.runId]: options.labels.runId };
  const serve = [
    'serve',
    '--workspace',
    WORKSPACE,
    '--state',
    AGENT_STATE,
    '--home',
    SANDBOX_HOME,
    '--uid',
    '1000',
    '--gid',
    '1000',
  ];
  // Commands get a process cap a little under the engine's, so the agent can still fork and kill at the limit.
  serve.push('--nproc', String(Math.max(1, limits.pidsLimit - 8)));
  if (plan.pool) serve.push('--idle-exit-ms', String(plan.pool.idleExitMs));
  return {
    Image: options.image,
    Entrypoint: [AGENT_PATH],
    Cmd: serve,
    User: '0:0',
    WorkingDir: '/',
    // The environment reaches commands through the agent (claim), so a pool container can serve any run.
    Env: [],
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Labels: {
      [LABELS.sandbox]: '1',
      ...owner,
      ...(options.labels.scope ? { [LABELS.scope]: options.labels.scope } : {}),
      ...(plan.egressNetwork ? { [EGRESS_LABELS.of]: plan.egressNetwork } : {}),
      [LABELS.version]: keelVersion,
    },
    HostConfig: {
      // Never a shared bridge: a networked sandbox's network reaches nothing but its egress proxy.
      NetworkMode: plan.egressNetwork ?? 'none',
      ...(options.runtime && options.runtime !== 'runc' ? { Runtime: options.runtime } : {}),
      CapDrop: ['ALL'],
      CapAdd: AGENT_CAPABILITIES,
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: {
        '/tmp': `rw,exec,nosuid,nodev,size=${limits.tmpBytes},mode=1777`,
        [WORKSPACE]: `rw,exec,nosuid,nodev,size=${limits.workspaceBytes},uid=1000,gid=1000,mode=0755`,
        // A writable home (git config --global, pip and npm caches) on the read-only root; capped like /tmp.
        [SANDBOX_HOME]: `rw,nosuid,nodev,size=${limits.tmpBytes},uid=1000,gid=1000,mode=0700`,
        [AGENT_STATE]: 'rw,noexec,nosuid,nodev,size=16m,mode=0700',
      },
      Mounts: [{ Type: 'volume', Source: plan.agentVolume, Target: AGENT_DIR, ReadOnly: true, VolumeOptions: NO_COPY }],
      // Protocol frames (file contents included) must not pile up in the engine's logs.
      LogConfig: { Type: 'none', Config: {} },
      PidsLimit: limits.pidsLimit + (options.runtime === 'runsc' ? GVISOR_PIDS_OVERHEAD : 0),
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      Init: true,
      AutoRemove: false,
    },
  };
}
