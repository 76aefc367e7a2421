/**
 * The Docker implementation of SandboxClient. A sandbox is just a labelled container: everything a later activity
 * needs (workspace, journal) lives in it, so `attach(id)` is enough to carry on from any worker on the same host.
 */
import Docker from 'dockerode';
import { SandboxError } from '../errors.js';
import { DockerExecTarget } from './docker-exec.js';
import { mapDockerError } from './docker-errors.js';
import { execCollect } from './exec-target.js';
import { buildContainerOptions, LABELS } from './hardening.js';
import { TargetSandbox } from './target-sandbox.js';
import type { SandboxClient, SandboxCreateOptions, SandboxLabels, StartedSandbox } from './types.js';

export interface DockerSandboxClientOptions {
  /** Defaults to a client for the local socket, or DOCKER_HOST when set. */
  docker?: Docker;
  /** How long create() waits for the container to accept execs. Default 15 s. */
  startTimeoutMs?: number;
}

/** A running sandbox container. */
export class DockerSandbox extends TargetSandbox {
  constructor(readonly container: Docker.Container) {
    super(new DockerExecTarget(container));
  }

  /** Force-removes the container; removing one that is already gone is fine. */
  async remove(): Promise<void> {
    try {
      await this.container.remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone; 409: a removal is already in progress. Both mean gone, which is what we want.
      const mapped = mapDockerError(err, this.id);
      if (mapped.code !== 'sandbox_gone') throw mapped;
    }
  }
}

/** Creates, re-attaches to and reaps hardened sandbox containers on one Docker engine. */
export class DockerSandboxClient implements SandboxClient {
  readonly docker: Docker;
  private readonly startTimeoutMs: number;

  constructor(options: DockerSandboxClientOptions | Docker = {}) {
    const opts: DockerSandboxClientOptions = options instanceof Docker ? { docker: options } : options;
    this.docker = opts.docker ?? new Docker();
    this.startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  }

  async create(options: SandboxCreateOptions): Promise<StartedSandbox> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(buildContainerOptions(options));
    } catch (err) {
      if (/no such image/i.test(String((err as Error).message))) {
        throw new SandboxError(
          'sandbox_unavailable',
          `sandbox image ${options.image} not found; build it with scripts/build-sandbox-image.sh`,
          { cause: err },
        );
      }
      throw mapDockerError(err, '(new)');
    }
    const sandbox = new DockerSandbox(container);
    try {
      await container.start();
      await this.waitUntilReady(container);
    } catch (err) {
      await sandbox.remove().catch(() => undefined);
      throw mapDockerError(err, container.id);
    }
    return sandbox;
  }

  private async waitUntilReady(container: Docker.Container): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      const probe = await execCollect(new DockerExecTarget(container), ['true']).then(
        (r) => (r.exitCode === 0 ? undefined : `exit ${r.exitCode}: ${r.stderr}`),
        (err: unknown) => (err as Error).message,
      );
      if (probe === undefined) return;
      if (Date.now() > deadline) {
        throw new SandboxError('sandbox_unavailable', `sandbox ${container.id} did not accept commands: ${probe}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async attach(id: string): Promise<StartedSandbox | undefined> {
    const container = this.docker.getContainer(id);
    try {
      const info = await container.inspect();
      if (!info.State.Running || info.Config.Labels?.[LABELS.sandbox] !== '1') return undefined;
      return new DockerSandbox(this.docker.getContainer(info.Id));
    } catch (err) {
      const mapped = mapDockerError(err, id);
      if (mapped.code === 'sandbox_gone') return undefined;
      throw mapped;
    }
  }

  async reapOrphans(isLive: (labels: SandboxLabels) => Promise<boolean>): Promise<string[]> {
    const listed = await this.docker
      .listContainers({ all: true, filters: { label: [`${LABELS.sandbox}=1`] } })
      .catch((err: unknown) => {
        throw mapDockerError(err, '(list)');
      });
    const removed: string[] = [];
    for (const info of listed) {
      const labels = { workflowId: info.Labels[LABELS.workflowId] ?? '', runId: info.Labels[LABELS.runId] ?? '', scope: info.Labels[LABELS.scope] };
      if (await isLive(labels)) continue;
      await new DockerSandbox(this.docker.getContainer(info.Id)).remove();
      removed.push(info.Id);
    }
    return removed;
  }
}
