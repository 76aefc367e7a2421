/**
 * MicroVM sandboxes: each sandbox is a QEMU `microvm` virtual machine booting Debian's kernel, with the sandbox
 * image's files as its root disk (a qcow2 overlay per VM on one read-only ext4 base per image, built offline by
 * scripts/build-microvm.sh) and the Keel agent as PID 1 (`keel-agent vm-init`), spoken to over one virtio-serial
 * port that QEMU exposes as a unix socket. No network device, no shared host directory. The VM directory under
 * `<keel home>/microvm/vms/<id>` is the state: `attach(id)` reconnects to the same VM from any worker on the host.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, realpath } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { KeelError, SandboxError } from '../errors.js';
import { AgentClient } from './agent-client.js';
import { AgentSandbox } from './agent-sandbox.js';
import { AgentConnections } from './connections.js';
import { resolveLimits } from './hardening.js';
import { kvmGroup, resolveAccel, type AccelChoice } from './microvm-accel.js';
import { loadImage, microvmDir, type MicroVMImage, type VMConfig } from './microvm-image.js';
import { buildQemuArgs, VM_FILES, type MicroVMAccel } from './microvm-qemu.js';
import * as vm from './microvm-vm.js';
import type { SandboxClient, SandboxCreateOptions, SandboxLabels, StartedSandbox } from './types.js';

export interface MicroVMSandboxClientOptions {
  /** Where build-microvm.sh put kernels, bases and manifests. Default `<keel home>/microvm`. */
  dir?: string;
  /** Where VM directories live. Default `<dir>/vms`. */
  stateDir?: string;
  /** `auto` (default, or KEEL_MICROVM_ACCEL): KVM when a boot probe succeeds, else TCG. */
  accel?: AccelChoice;
  /** The QEMU binary. Default `qemu-system-x86_64` on PATH. */
  qemu?: string;
  /** How long create() waits for the guest agent. Default 120 s (TCG boots take seconds, more on a loaded host). */
  bootTimeoutMs?: number;
}

/** A running microVM, reached through its agent socket. */
export class MicroVMSandbox extends AgentSandbox {
  constructor(
    readonly id: string,
    readonly accel: MicroVMAccel,
    private readonly client: MicroVMSandboxClient,
  ) {
    super();
  }

  protected agent(): Promise<AgentClient> {
    return this.client.connection(this.id);
  }

  /** Kills the VM and deletes its disk overlay; removing one that is already gone is fine. */
  remove(): Promise<void> {
    return this.client.destroy(this.id);
  }
}

export class MicroVMSandboxClient implements SandboxClient {
  readonly dir: string;
  private readonly stateDirOption?: string;
  private stateDirResolved?: Promise<string>;
  private readonly accelChoice: AccelChoice;
  private readonly qemu: string;
  private readonly bootTimeoutMs: number;
  private readonly images = new Map<string, Promise<MicroVMImage>>();
  /** One agent connection per VM per process: QEMU's socket serves one client at a time. */
  private readonly connections = new AgentConnections();

  constructor(options: MicroVMSandboxClientOptions = {}) {
    this.dir = options.dir ?? microvmDir();
    this.stateDirOption = options.stateDir;
    this.accelChoice = options.accel ?? (process.env.KEEL_MICROVM_ACCEL as AccelChoice | undefined) ?? 'auto';
    if (!['auto', 'kvm', 'tcg'].includes(this.accelChoice))
      throw new RangeError(`microVM accel must be auto, kvm or tcg, got ${this.accelChoice}`);
    this.qemu = options.qemu ?? 'qemu-system-x86_64';
    this.bootTimeoutMs = options.bootTimeoutMs ?? 120_000;
  }

  /** The VM directory root, canonical (a VM's pid is checked against its directory through /proc/<pid>/cwd). */
  private stateDir(): Promise<string> {
    this.stateDirResolved ??= (async () => {
      const dir = this.stateDirOption ?? join(this.dir, 'vms');
      await mkdir(dir, { recursive: true, mode: 0o711 });
      return realpath(dir);
    })();
    return this.stateDirResolved;
  }

  /** The accelerator VMs of `image` use (the probe runs once per machine and kernel). */
  async accelFor(image: string): Promise<MicroVMAccel> {
    return resolveAccel(this.accelChoice, await this.image(image), await this.stateDir(), this.qemu);
  }

  private image(image: string): Promise<MicroVMImage> {
    let loaded = this.images.get(image);
    if (!loaded) {
      loaded = loadImage(this.dir, image);
      loaded.catch(() => this.images.delete(image));
      this.images.set(image, loaded);
    }
    return loaded;
  }

  async create(options: SandboxCreateOptions): Promise<StartedSandbox> {
    if (options.network) {
      throw new KeelError(
        'bad_usage',
        'microVM sandboxes have no network device; use network: false, or the Docker tier for a networked sandbox (network: true or { allow })',
      );
    }
    const limits = resolveLimits(options.limits);
    const image = await this.image(options.image);
    const accel = await this.accelFor(options.image);
    const id = `mvm-${randomBytes(8).toString('hex')}`;
    const dir = join(await this.stateDir(), id);
    const socket = join(dir, VM_FILES.socket);
    if (Buffer.byteLength(socket) > 107)
      throw new SandboxError(
        'sandbox_unavailable',
        `microVM socket path too long for a unix socket: ${socket}; set a shorter KEEL_HOME or stateDir`,
      );
    const config: VMConfig = {
      env: options.env ?? {},
      tmpBytes: limits.tmpBytes,
      workspaceBytes: limits.workspaceBytes,
      pidsLimit: limits.pidsLimit,
    };
    let runAs = vm.runAsFor(id);
    if (runAs && accel === 'kvm') runAs = { uid: runAs.uid, gid: (await kvmGroup()) ?? runAs.gid };
    let pid: number | undefined;
    try {
      await vm.prepareVmDir(dir, image, config, runAs);
      pid = await vm.launchQemu(dir, this.qemu, buildQemuArgs({ kernel: image.kernel, accel, limits }), runAs);
      await vm.writeMeta(dir, vm.newMeta(id, pid, accel, options.image, options.labels));
      const deadline = Date.now() + this.bootTimeoutMs;
      await this.connections.get(id, () => connectAgent(id, dir, deadline));
    } catch (err) {
      const why = await vm.bootDiagnostics(dir);
      await vm.destroyVm(dir, pid).catch(() => undefined);
      throw new SandboxError('sandbox_unavailable', `microVM ${id} did not start: ${(err as Error).message} (${why})`, {
        cause: err,
      });
    }
    return new MicroVMSandbox(id, accel, this);
  }

  /** The shared connection to a VM's agent, connecting (again) when there is none or it closed. */
  connection(id: string): Promise<AgentClient> {
    return this.connections.get(id, async () => {
      const meta = await this.isRunning(id);
      if (!meta) throw new SandboxError('sandbox_gone', `microVM ${id} is gone`);
      return connectAgent(id, join(await this.stateDir(), id), Date.now() + 30_000);
    });
  }

  private async isRunning(id: string): Promise<vm.VMMeta | undefined> {
    if (!vm.VM_ID.test(id)) return undefined;
    const dir = join(await this.stateDir(), id);
    const meta = await vm.readMeta(dir);
    return meta && (await vm.isQemuOf(dir, meta.pid)) ? meta : undefined;
  }

  async attach(id: string): Promise<StartedSandbox | undefined> {
    const meta = await this.isRunning(id);
    return meta && new MicroVMSandbox(id, meta.accel, this);
  }

  /** Kills a VM and removes its directory. */
  async destroy(id: string): Promise<void> {
    if (!vm.VM_ID.test(id)) return;
    await this.connections.drop(id);
    const dir = join(await this.stateDir(), id);
    await vm.destroyVm(dir, (await vm.readMeta(dir))?.pid);
  }

  async reapOrphans(isLive: (labels: SandboxLabels) => Promise<boolean>): Promise<string[]> {
    const names = await readdir(await this.stateDir()).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const id of names.filter((n) => vm.VM_ID.test(n))) {
      const meta = await vm.readMeta(join(await this.stateDir(), id));
      if (meta && (await isLive(meta.labels))) continue;
      await this.destroy(id);
      removed.push(id);
    }
    return removed;
  }

  /** Drops this process's agent connections (the VMs keep running). */
  async close(): Promise<void> {
    await this.connections.closeAll();
  }
}

/** Connects to a VM's agent socket (QEMU creates it at start) and waits for the agent to answer a ping. */
async function connectAgent(id: string, dir: string, deadline: number): Promise<AgentClient> {
  const path = join(dir, VM_FILES.socket);
  let socket: net.Socket | undefined;
  while (!socket) {
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (!socket) {
      if (Date.now() > deadline)
        throw new SandboxError('sandbox_unavailable', `microVM ${id}: no agent socket at ${path}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const client = new AgentClient(socket, {
    lostError: async () =>
      (await vm.readMeta(dir).then((m) => m && vm.isQemuOf(dir, m.pid)))
        ? new SandboxError('sandbox_unavailable', `lost the connection to microVM ${id}'s agent`)
        : new SandboxError('sandbox_gone', `microVM ${id} is not running`),
  });
  try {
    await client.ping(Math.max(1_000, deadline - Date.now()));
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
