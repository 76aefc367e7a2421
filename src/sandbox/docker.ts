/**
 * The Docker implementation of SandboxClient (and, with `runtime: 'runsc'`, the gVisor tier). A sandbox is a
 * labelled container whose main process is the in-sandbox agent; everything a later activity needs (workspace,
 * journal, running commands) lives in it, so `attach(id)` is enough to carry on from any worker on the same engine.
 */
import Docker from 'dockerode';
import { SandboxError } from '../errors.js';
import type { AgentClient } from './agent-client.js';
import { AgentSandbox } from './agent-sandbox.js';
import { AgentConnections } from './connections.js';
import { agentVolume, attachAgent } from './docker-agent.js';
import { mapDockerError } from './docker-errors.js';
import { buildContainerOptions, checkOptions, LABELS } from './hardening.js';
import { WarmPool, type PoolOptions } from './pool.js';
import {
  EGRESS_LABELS,
  reapEgress,
  removeEgress,
  startEgress,
  type Egress,
  type EgressOptions,
} from './egress/sidecar.js';
import type { SandboxClient, SandboxCreateOptions, SandboxLabels, StartedSandbox } from './types.js';

export interface DockerSandboxClientOptions {
  /** Defaults to a client for the local socket, or DOCKER_HOST when set. */
  docker?: Docker;
  /** How long create() waits for the agent to answer. Default 15 s. */
  startTimeoutMs?: number;
  /** Keep started sandboxes ready per shape (image, limits, network, runtime); off unless size > 0. */
  pool?: PoolOptions;
  /** Networked sandboxes' egress proxies: the outbound bridge, and a test hook (see EgressOptions). */
  egress?: EgressOptions;
}

/** What a DockerSandbox knows of its egress network (its env only where this process made it). */
interface EgressHandle {
  network: string;
  env?: Record<string, string>;
  remove(): Promise<unknown>;
}

/** A running sandbox container. */
export class DockerSandbox extends AgentSandbox {
  constructor(
    readonly container: Docker.Container,
    private readonly connect: (container: Docker.Container) => Promise<AgentClient>,
    private readonly forget: (id: string) => Promise<void>,
    /** A networked sandbox's own network and proxy (removed with it), and the environment that uses the proxy. */
    readonly egress?: EgressHandle,
  ) {
    super();
  }

  get id(): string {
    return this.container.id;
  }

  protected agent(): Promise<AgentClient> {
    return this.connect(this.container);
  }

  /** Force-removes the container (and its egress network and proxy); removing one that is already gone is fine. */
  async remove(): Promise<void> {
    await this.forget(this.id);
    try {
      await this.container.remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone; 409: a removal is already in progress. Both mean gone, which is what we want.
      const mapped = mapDockerError(err, this.id);
      if (mapped.code !== 'sandbox_gone') throw mapped;
    }
    await this.egress?.remove();
  }
}

/** Creates, re-attaches to and reaps hardened sandbox containers on one Docker engine. */
export class DockerSandboxClient implements SandboxClient {
  readonly docker: Docker;
  readonly pool?: WarmPool<DockerSandbox>;
  private readonly startTimeoutMs: number;
  private readonly connections = new AgentConnections();
  /** Sandboxes this process created or checked (running, labelled as Keel's): attached again without asking. */
  private readonly known = new Map<string, DockerSandbox>();
  private readonly egressOptions: EgressOptions;

  constructor(options: DockerSandboxClientOptions | Docker = {}) {
    const opts: DockerSandboxClientOptions = options instanceof Docker ? { docker: options } : options;
    this.docker = opts.docker ?? new Docker();
    this.startTimeoutMs = opts.startTimeoutMs ?? 15_000;
    this.egressOptions = opts.egress ?? {};
    if (opts.pool && opts.pool.size > 0) this.pool = new WarmPool(opts.pool, (o, key) => this.start(o, key));
  }

  async create(options: SandboxCreateOptions): Promise<StartedSandbox> {
    checkOptions(options);
    return this.claim(this.pool?.take(options) ?? (await this.start(options)), options);
  }

  /** Hands a started sandbox to its run: the run's environment and owner, told to its agent. */
  private async claim(sandbox: DockerSandbox, options: SandboxCreateOptions): Promise<DockerSandbox> {
    try {
      // The proxy variables win: a manifest cannot point commands elsewhere (nor could it get out if it did).
      await (
        await this.connection(sandbox.container)
      ).claim({ ...options.env, ...sandbox.egress?.env }, claimLabels(options.labels));
    } catch (err) {
      await sandbox.remove().catch(() => undefined);
      throw err;
    }
    return this.remember(sandbox);
  }

  private remember(sandbox: DockerSandbox): DockerSandbox {
    this.known.set(sandbox.id, sandbox);
    return sandbox;
  }

  /** Starts a container and waits for its agent; a pool member when `poolKey` is set (owner left to claim). */
  private async start(options: SandboxCreateOptions, poolKey?: string): Promise<DockerSandbox> {
    const volume = await agentVolume(this.docker, options.image);
    const idleExitMs = this.pool ? this.pool.idleMs + 60_000 : 0;
    const egress = options.network
      ? await startEgress(this.docker, options.network, options.image, volume, this.egressOptions)
      : undefined;
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(
        buildContainerOptions({
          options,
          agentVolume: volume,
          pool: poolKey ? { key: poolKey, idleExitMs } : undefined,
          egressNetwork: egress?.network,
        }),
      );
    } catch (err) {
      if (egress) await removeEgress(this.docker, egress.network);
      throw createError(err, options);
    }
    const sandbox = this.sandboxOf(container, egress);
    try {
      await container.start();
      await this.connection(container);
    } catch (err) {
      await sandbox.remove().catch(() => undefined);
      throw startError(err, container.id, options);
    }
    return sandbox;
  }

  /** `egress`: the sandbox's egress network, as started here or named by its container's label. */
  private sandboxOf(container: Docker.Container, egress?: Egress | string): DockerSandbox {
    const network = typeof egress === 'string' ? egress : egress?.network;
    const handle = network
      ? {
          network,
          env: typeof egress === 'object' ? egress.env : undefined,
          remove: () => removeEgress(this.docker, network),
        }
      : undefined;
    const forget = (id: string) => (this.known.delete(id), this.connections.drop(id));
    return new DockerSandbox(container, (c) => this.connection(c), forget, handle);
  }

  /** The shared connection to a container's agent, attaching (again) when there is none or it closed. */
  private connection(container: Docker.Container): Promise<AgentClient> {
    return this.connections.get(container.id, () => attachAgent(container, this.startTimeoutMs));
  }

  /**
   * The running Keel sandbox `id`, else undefined. One this process checked before whose agent connection is
   * still open needs no engine call: the open stream means the container runs (its agent is its main process).
   */
  async attach(id: string): Promise<StartedSandbox | undefined> {
    const known = this.known.get(id);
    if (known && this.connections.isOpen(id)) return known;
    this.known.delete(id);
    const container = this.docker.getContainer(id);
    try {
      const info = await container.inspect();
      if (!info.State.Running || info.Config.Labels?.[LABELS.sandbox] !== '1') return undefined;
      return this.remember(this.sandboxOf(this.docker.getContainer(info.Id), info.Config.Labels[EGRESS_LABELS.of]));
    } catch (err) {
      const mapped = mapDockerError(err, id);
      if (mapped.code === 'sandbox_gone') return undefined;
      throw mapped;
    }
  }

  /**
   * Docker labels cannot change after creation, so a kept container is marked by its name, `keel-kept-<id>`,
   * which the reaper skips. Returns the name.
   */
  async keep(id: string): Promise<string> {
    const name = `${KEPT_PREFIX}${id.slice(0, 12)}`;
    const container = this.docker.getContainer(id);
    if ((await container.inspect()).Name === `/${name}`) return name;
    await container.rename({ name }).catch((err: unknown) => {
      throw mapDockerError(err, id);
    });
    return name;
  }

  async discard(id: string): Promise<void> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (err) {
      const mapped = mapDockerError(err, id);
      if (mapped.code === 'sandbox_gone') return;
      throw mapped;
    }
    if (info.State.Running || info.Config.Labels?.[LABELS.sandbox] !== '1' || info.Name.startsWith(`/${KEPT_PREFIX}`))
      return;
    await this.sandboxOf(this.docker.getContainer(info.Id), info.Config.Labels[EGRESS_LABELS.of]).remove();
  }

  async engineAnswers(): Promise<boolean> {
    return this.docker.ping().then(
      () => true,
      () => false,
    );
  }

  async countLive(): Promise<number> {
    const filters = { label: [`${LABELS.sandbox}=1`], status: ['created', 'restarting', 'running'] };
    const listed = await this.docker.listContainers({ all: true, filters }).catch((err: unknown) => {
      throw mapDockerError(err, '(count)');
    });
    return listed.length;
  }

  async reapOrphans(isLive: (labels: SandboxLabels) => Promise<boolean>): Promise<string[]> {
    const listed = await this.docker
      .listContainers({ all: true, filters: { label: [`${LABELS.sandbox}=1`] } })
      .catch((err: unknown) => {
        throw mapDockerError(err, '(list)');
      });
    const removed: string[] = [];
    for (const info of listed) {
      if (info.Names.some((n) => n.startsWith(`/${KEPT_PREFIX}`))) continue;
      const labels = await this.ownerOf(info);
      if (labels === 'keep' || (labels && (await isLive(labels)))) continue;
      await this.sandboxOf(this.docker.getContainer(info.Id), info.Labels[EGRESS_LABELS.of]).remove();
      removed.push(info.Id);
    }
    await reapEgress(this.docker).catch((err: unknown) =>
      console.warn(`keel: reaping egress networks: ${String(err)}`),
    );
    return removed;
  }

  /**
   * Who owns a container: its labels, or for a warm-pool container the owner its agent was claimed by. An
   * unclaimed pool container is kept while it runs (its agent exits when unclaimed too long): undefined = remove.
   */
  private async ownerOf(info: Docker.ContainerInfo): Promise<SandboxLabels | 'keep' | undefined> {
    const l = info.Labels;
    if (l[LABELS.workflowId] !== undefined)
      return { workflowId: l[LABELS.workflowId], runId: l[LABELS.runId] ?? '', scope: l[LABELS.scope] };
    if (l[LABELS.pool] === undefined || info.State !== 'running') return undefined;
    if (this.pool?.has((s) => s.id === info.Id)) return 'keep';
    const agent = await this.connection(this.docker.getContainer(info.Id)).catch(() => undefined);
    const claimed = agent && (await agent.ping().catch(() => undefined));
    if (!claimed?.claimed) return 'keep';
    const owner = claimed.labels ?? {};
    return { workflowId: owner.workflowId ?? '', runId: owner.runId ?? '', scope: owner.scope };
  }

  /** Removes the warm pool's idle containers and drops agent connections. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.known.clear();
    await this.connections.closeAll();
  }
}

/** Name prefix of containers kept after their run. */
export const KEPT_PREFIX = 'keel-kept-';

function claimLabels(labels: SandboxLabels): Record<string, string> {
  return { workflowId: labels.workflowId, runId: labels.runId, ...(labels.scope ? { scope: labels.scope } : {}) };
}

function createError(err: unknown, options: SandboxCreateOptions): SandboxError {
  const message = String((err as Error).message);
  if (/no such image/i.test(message)) {
    return new SandboxError(
      'sandbox_unavailable',
      `sandbox image ${options.image} not found; build it with scripts/build-sandbox-image.sh`,
      { cause: err },
    );
  }
  if (/unknown or invalid runtime/i.test(message)) {
    return new SandboxError(
      'sandbox_unavailable',
      `the Docker engine has no runtime '${options.runtime}'; run scripts/ensure-gvisor.sh`,
      { cause: err },
    );
  }
  return mapDockerError(err, '(new)');
}

function startError(err: unknown, id: string, options: SandboxCreateOptions): SandboxError {
  const mapped = mapDockerError(err, id);
  if (options.runtime === 'runsc') {
    return new SandboxError('sandbox_unavailable', `the gVisor sandbox did not start: ${mapped.message}`, {
      cause: err,
    });
  }
  return mapped;
}
