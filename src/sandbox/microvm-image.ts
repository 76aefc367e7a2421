/**
 * What a microVM boots, as built by scripts/build-microvm.sh: its manifest per image reference, and the per-VM
 * initramfs, which is the shared one with the VM's own config appended as a second (uncompressed) cpio archive.
 * The kernel unpacks concatenated archives in order, so /keel-vm.json appears in the guest's initramfs without a
 * kernel command line (2 KiB, readable by every guest process) or an extra device.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { keelHome } from '../util/paths.js';

export interface MicroVMImage {
  image: string;
  imageId: string;
  kernelVersion: string;
  agentSha256: string;
  kernel: string;
  initrd: string;
  rootfs: string;
}

/** What the guest's `keel-agent vm-init` reads from /run/keel/vm.json. */
export interface VMConfig {
  env: Record<string, string>;
  tmpBytes: number;
  workspaceBytes: number;
  pidsLimit: number;
  /** Set by the accel probe: print a marker and power off instead of serving. */
  probe?: boolean;
}

export function microvmDir(): string {
  return join(keelHome(), 'microvm');
}

/** The manifest file name build-microvm.sh writes for an image reference. */
export function manifestPath(dir: string, image: string): string {
  return join(dir, 'images', `${image.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/** Reads an image's manifest; `sandbox_unavailable` with the command to run when it was never built. */
export async function loadImage(dir: string, image: string): Promise<MicroVMImage> {
  const path = manifestPath(dir, image);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new SandboxError(
      'sandbox_unavailable',
      `no microVM build of ${image} in ${dir}; run scripts/build-microvm.sh ${image}`,
    );
  }
  return JSON.parse(text) as MicroVMImage;
}

/** One newc cpio archive holding `name` (mode 0600, root), terminated by the trailer entry. */
export function cpioArchive(name: string, content: Buffer): Buffer {
  const parts: Buffer[] = [];
  const entry = (entryName: string, mode: number, data: Buffer, ino: number): void => {
    const nameBytes = Buffer.from(`${entryName}\0`);
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    parts.push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii'));
    parts.push(nameBytes, pad(110 + nameBytes.length), data, pad(data.length));
  };
  entry(name, 0o100600, content, 1);
  entry('TRAILER!!!', 0, Buffer.alloc(0), 0);
  return Buffer.concat(parts);
}

/** Zeros up to the next multiple of 4 (cpio aligns headers and data to 4 bytes). */
function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

/** The base initramfs, zero-padded to 4 bytes (where the kernel looks for the next archive), plus the config. */
export async function vmInitrd(baseInitrd: string, config: VMConfig): Promise<Buffer> {
  const base = await readFile(baseInitrd);
  return Buffer.concat([base, pad(base.length), cpioArchive('keel-vm.json', Buffer.from(JSON.stringify(config)))]);
}
