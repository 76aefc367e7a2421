/**
 * One microVM on the host: its directory (qcow2 overlay on the image's read-only base, per-VM initramfs, agent
 * socket, console log, meta.json with the owner's labels) and its QEMU process, started detached so it outlives
 * the worker (a new worker re-attaches by id). When the worker runs as root, QEMU runs as a uid of its own per VM
 * (no passwd entry needed), owning only that VM's directory; the kernel, initramfs and base image are read-only
 * to it. A VM's pid is trusted only when /proc/<pid>/cwd is still its directory, so a recycled pid is never killed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, mkdir, open, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SandboxError } from '../errors.js';
import { keelVersion } from '../version.js';
import { vmInitrd, type MicroVMImage, type VMConfig } from './microvm-image.js';
import { VM_FILES, type MicroVMAccel } from './microvm-qemu.js';
import type { SandboxLabels } from './types.js';

const run = promisify(execFile);

export interface VMMeta {
  id: string;
  pid: number;
  accel: MicroVMAccel;
  image: string;
  labels: SandboxLabels;
  version: string;
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** Per-VM ids are short: the agent socket's absolute path must fit a sockaddr_un (108 bytes). */
export const VM_ID = /^mvm-[0-9a-f]{16}$/;

/** QEMU's uid and gid for a VM: one of its own when the worker is root, else the worker's (already unprivileged). */
export function runAsFor(id: string): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const n = createHash('sha256').update(id).digest().readUInt32BE(0) % 0x100000;
  return { uid: 0x30000000 + n, gid: 0x30000000 + n };
}

/** Creates the VM's directory: overlay on the base image and the initramfs carrying its config. */
export async function prepareVmDir(
  dir: string,
  image: MicroVMImage,
  config: VMConfig,
  runAs: RunAs | undefined,
): Promise<void> {
  await mkdir(dir, { recursive: false, mode: 0o700 });
  const overlay = join(dir, VM_FILES.overlay);
  try {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.rootfs, '-F', 'raw', overlay]);
  } catch (err) {
    throw new SandboxError('sandbox_unavailable', `qemu-img cannot create the overlay: ${(err as Error).message}`, {
      cause: err,
    });
  }
  await writeFile(join(dir, VM_FILES.initrd), await vmInitrd(image.initrd, config), { mode: 0o600 });
  if (runAs) {
    for (const path of [dir, overlay, join(dir, VM_FILES.initrd)]) await chown(path, runAs.uid, runAs.gid);
  }
}

/** Starts QEMU in the VM's directory, detached from the worker; QEMU's own errors go to qemu.log. */
export async function launchQemu(dir: string, qemu: string, args: string[], runAs: RunAs | undefined): Promise<number> {
  const log = await open(join(dir, 'qemu.log'), 'w', 0o600);
  if (runAs) await log.chown(runAs.uid, runAs.gid);
  try {
    const child = spawn(qemu, args, {
      cwd: dir,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      ...(runAs ?? {}),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) =>
        reject(new SandboxError('sandbox_unavailable', `cannot start ${qemu}: ${err.message}`, { cause: err })),
      );
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    return pid;
  } finally {
    await log.close();
  }
}

export async function writeMeta(dir: string, meta: VMMeta): Promise<void> {
  await writeFile(join(dir, `${VM_FILES.meta}.tmp`), JSON.stringify(meta), { mode: 0o600 });
  await rename(join(dir, `${VM_FILES.meta}.tmp`), join(dir, VM_FILES.meta));
}

export async function readMeta(dir: string): Promise<VMMeta | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, VM_FILES.meta), 'utf8')) as VMMeta;
  } catch {
    return undefined;
  }
}

export function newMeta(id: string, pid: number, accel: MicroVMAccel, image: string, labels: SandboxLabels): VMMeta {
  return { id, pid, accel, image, labels, version: keelVersion };
}

/** Whether `pid` is this directory's QEMU (a recycled pid has another cwd). */
export async function isQemuOf(dir: string, pid: number): Promise<boolean> {
  try {
    return (await readlink(`/proc/${pid}/cwd`)) === dir;
  } catch {
    return false;
  }
}

/** Kills the VM's QEMU (if it is still that) and removes its directory. */
export async function destroyVm(dir: string, pid: number | undefined): Promise<void> {
  if (pid !== undefined && (await isQemuOf(dir, pid))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    for (let i = 0; i < 50 && (await isQemuOf(dir, pid)); i++) await new Promise((r) => setTimeout(r, 20));
  }
  await rm(dir, { recursive: true, force: true });
}

/** The last lines of the VM's console and QEMU log, for a boot failure's message. */
export async function bootDiagnostics(dir: string): Promise<string> {
  const tail = async (name: string): Promise<string> =>
    (await readFile(join(dir, name), 'utf8').catch(() => '')).trim().split('\n').slice(-5).join(' | ');
  return `qemu: ${(await tail('qemu.log')) || '-'}; console: ${(await tail(VM_FILES.console)) || '-'}`;
}
