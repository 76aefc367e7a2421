/**
 * The sandbox layer's public contract, one for every tier (Docker, gVisor, bubblewrap, microVM). Nothing here
 * knows about Temporal: activities attach to a sandbox by its id on every call, so a sandbox must be reachable
 * from its id alone (the sandbox, with the agent inside it, is the state).
 */
import type { Readable } from 'node:stream';

export interface SandboxLimits {
  /** Memory limit in bytes; swap is set equal so the sandbox cannot swap. */
  memoryBytes: number;
  /** CPU quota in units of 1e-9 CPUs (Docker's NanoCpus). */
  nanoCpus: number;
  pidsLimit: number;
  /** Size cap of the tmpfs mounted at /tmp. */
  tmpBytes: number;
  /** Size cap of the workspace (a size-capped tmpfs at /workspace unless the engine offers a better quota). */
  workspaceBytes: number;
}

/** Who a sandbox belongs to, as labels. */
export interface SandboxLabels {
  workflowId: string;
  runId: string;
  /**
   * The Temporal namespace's id (unique per cluster): a reaper only judges sandboxes of its own namespace, so
   * workers of different clusters sharing a Docker engine never remove each other's sandboxes.
   */
  scope?: string;
}

export interface SandboxCreateOptions {
  image: string;
  /** Recorded as container labels so orphans can be found and reaped. */
  labels: SandboxLabels;
  env?: Record<string, string>;
  /**
   * Network access, off unless an agent opts in. Docker tier: `{ allow }` reaches only those host names through
   * the sandbox's egress proxy; `true` reaches any public name the same way; never the host, private ranges or
   * link-local metadata addresses (docs/security.md). Other tiers refuse `{ allow }`.
   */
  network?: SandboxNetwork;
  limits?: Partial<SandboxLimits>;
  /**
   * The container runtime (Docker tier): `runc` (the engine's default) or `runsc` (gVisor: a user-space kernel
   * between the sandbox and the host; needs scripts/ensure-gvisor.sh, no network).
   */
  runtime?: SandboxRuntime;
}

export type SandboxRuntime = 'runc' | 'runsc';

/**
 * A named sandbox backend a worker offers (`createWorker({ sandboxes: { docker, microvm } })`) and an agent asks
 * for (`sandbox: { tier }`): Docker, Docker with gVisor (`runsc`), a KVM microVM, bubblewrap on the host.
 */
export type SandboxTier = 'docker' | 'gvisor' | 'microvm' | 'local';

/** `false`: no network; `true`: any public host name; `{ allow }`: only these names (`pypi.org`, `*.github.com`). */
export type SandboxNetwork = boolean | { allow: string[] };

export interface ExecOptions {
  cmd: string;
  /** Relative to /workspace, or absolute inside it. */
  workdir?: string;
  timeoutMs?: number;
  /** Cap on stdout+stderr bytes returned; the middle is cut with a marker. */
  maxOutputBytes?: number;
  env?: Record<string, string>;
  /** When set, the result is journalled inside the sandbox and a repeat with the same key returns it unrun. */
  idempotencyKey?: string;
  /** Called periodically while the command runs (activities heartbeat from it). */
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
  /** True when the result came from the journal instead of running the command again. */
  replayed: boolean;
}

/** A long-lived process in the sandbox (`StartedSandbox.spawn`): runs as the sandbox user, under its limits. */
export interface SpawnOptions {
  /** The program and its arguments (looked up in the system directories), or `cmd` for the image's shell. */
  argv?: string[];
  cmd?: string;
  /** Relative to /workspace, or absolute inside it. Default /workspace. */
  workdir?: string;
  env?: Record<string, string>;
  /** Bytes of stderr kept (head and tail) for the exit result. Default 64 KiB. */
  stderrBytes?: number;
  onStdout: (chunk: Buffer) => void;
  /** Stderr as it comes (the first 64 KiB; the rest only in the exit result). */
  onStderr?: (chunk: Buffer) => void;
}

export interface ProcessExit {
  exitCode: number;
  stderr: string;
  /** Ended by `kill`. */
  killed: boolean;
  durationMs: number;
}

export interface SandboxProcess {
  readonly id: string;
  /** Writes to the process's stdin; waits while the agent has too much unconsumed input. */
  write(data: Buffer): Promise<void>;
  closeStdin(): void;
  /** Kills the process and its children; resolves once it has ended. */
  kill(): Promise<void>;
  /** Settles when the process ends (rejects when the sandbox or its connection is lost). */
  readonly exited: Promise<ProcessExit>;
}

export interface DirEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
}

/** Caps on one workspace snapshot; defaults and variables in src/sandbox/snapshot-limits.ts and docs/storage.md. */
export interface SnapshotLimits {
  /** Entries (files, directories, symlinks) in the workspace. */
  maxFiles: number;
  /** Apparent size of all files (a sparse file counts whole). */
  maxBytes: number;
  /** Time to walk and send the workspace. */
  maxMs: number;
}

export interface WorkspaceExportOptions extends Partial<SnapshotLimits> {
  /** The index token of the sandbox's last export whose tree the store kept: send only what changed since. */
  base?: string;
}

/** What the sandbox said about an export once it finished. */
export interface WorkspaceExportSummary {
  bytes: number;
  /** Entries walked and apparent file bytes. */
  files: number;
  fileBytes: number;
  /** Entries that could not be read. */
  skipped: number;
  /** FIFOs, sockets and devices, never read and not snapshotted: the first 20, and how many. */
  specials?: string[];
  specialCount?: number;
}

export type WorkspaceExport = Readable & { summary?: Promise<WorkspaceExportSummary> };

export interface StartedSandbox extends AsyncDisposable {
  readonly id: string;
  exec(options: ExecOptions): Promise<ExecResult>;
  readFile(path: string, options?: { maxBytes?: number }): Promise<Buffer>;
  writeFile(path: string, content: Buffer | string): Promise<void>;
  listDir(path: string): Promise<DirEntry[]>;
  /** Removes a file inside the workspace (same path rules as writeFile); missing files are not an error. */
  removeFile(path: string): Promise<void>;
  /** Extracts a tar stream into the workspace directory `dest` (relative to /workspace). */
  putArchive(tar: Readable | Buffer, dest?: string): Promise<void>;
  /** A tar stream of /workspace; with options, capped and possibly incremental (a snapshot's export). */
  exportWorkspace(options?: WorkspaceExportOptions): Promise<WorkspaceExport>;
  /** Starts a long-lived process with streamed stdin/stdout (an MCP server in the sandbox). */
  spawn(options: SpawnOptions): Promise<SandboxProcess>;
  remove(): Promise<void>;
}

export interface SandboxClient {
  create(options: SandboxCreateOptions): Promise<StartedSandbox>;
  /** Releases what the client holds beyond its sandboxes (warm-pool containers, connections). */
  close?(): Promise<void>;
  /** Reconnects to a live sandbox; undefined when it is gone (removed, killed, host lost). */
  attach(id: string): Promise<StartedSandbox | undefined>;
  /**
   * Marks a sandbox as kept after its run (`keepContainer`, or a final snapshot that failed): the reaper leaves it
   * alone and it is named for people to find. Clients without it leave the sandbox as it is.
   */
  keep?(id: string): Promise<string>;
  /**
   * Removes sandbox `id` if it is dead (stopped, say by an engine restart) and not kept; a running one is left
   * alone, a missing one is fine. What a run does with the container it lost.
   */
  discard?(id: string): Promise<void>;
  /** Whether the engine answers at all (false while it restarts); clients without one never wait for it. */
  engineAnswers?(): Promise<boolean>;
  /**
   * Live sandboxes on this host, counted by label on the engine (any owner, kept and warm-pool ones too): what a
   * per-host cap counts. Clients without it are not capped.
   */
  countLive?(): Promise<number>;
  /** Removes labelled sandboxes whose workflow is not live, except kept ones. Returns the removed ids. */
  reapOrphans(isLive: (labels: SandboxLabels) => Promise<boolean>): Promise<string[]>;
  /**
   * Set (to the tier's name) where commands run as the sandbox agent's own uid, so they could forge its journal or
   * kill it: agents gating command tools behind approval are refused at spec resolution on such a worker.
   */
  readonly sharedUidTier?: string;
}

export interface SnapshotInfo {
  id: string;
  sha256: string;
  bytes: number;
  /** Bytes newly written to the store for this snapshot (incremental stores write only what changed). */
  storedBytes?: number;
}

/** `key` names the sandbox a workspace tar came from, so its next export can be incremental against this one. */
export interface SnapshotPutOptions {
  key?: string;
}

/** Where workspace tars go. Local directory by default; an S3-compatible store fits the same shape. */
export interface SnapshotStore {
  put(tar: Readable, options?: SnapshotPutOptions): Promise<SnapshotInfo>;
  /** The export index the sandbox `key`'s next export may be incremental against (stores that keep trees). */
  baseToken?(key: string): string | undefined;
  get(id: string): Promise<Readable>;
  has(id: string): Promise<boolean>;
}
