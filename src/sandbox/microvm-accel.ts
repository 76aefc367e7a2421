/**
 * KVM or TCG. A /dev/kvm that opens is not enough: on this project's machines it is PVM, which cannot run a
 * stock kernel (the boot dies in emulation failures tens of seconds in). So KVM is used only after a real boot
 * probe — the sandbox kernel and initramfs under KVM, with the agent printing a marker as PID 1 — succeeds;
 * otherwise TCG, slow but still a whole-VM boundary. The answer is cached per kernel version in `<dir>/accel.json`
 * and per process, so the probe runs once per machine.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MicroVMImage } from './microvm-image.js';
import { buildQemuArgs, VM_FILES, type MicroVMAccel } from './microvm-qemu.js';
import { destroyVm, launchQemu, prepareVmDir, runAsFor, type RunAs } from './microvm-vm.js';

export type AccelChoice = MicroVMAccel | 'auto';

const PROBE_MARKER = 'keel-vm-probe-ok';
const PROBE_TIMEOUT_MS = 20_000;
const decided = new Map<string, Promise<MicroVMAccel>>();

/** The accelerator for VMs of `image`: the forced one, else the (cached) probe's answer. */
export function resolveAccel(
  choice: AccelChoice,
  image: MicroVMImage,
  stateDir: string,
  qemu: string,
): Promise<MicroVMAccel> {
  if (choice !== 'auto') return Promise.resolve(choice);
  let answer = decided.get(image.kernelVersion);
  if (!answer) {
    answer = decide(image, stateDir, qemu);
    decided.set(image.kernelVersion, answer);
  }
  return answer;
}

async function decide(image: MicroVMImage, stateDir: string, qemu: string): Promise<MicroVMAccel> {
  const cacheFile = join(stateDir, '..', 'accel.json');
  const cached = await readFile(cacheFile, 'utf8').then(
    (t) => JSON.parse(t) as Record<string, MicroVMAccel>,
    () => ({}) as Record<string, MicroVMAccel>,
  );
  const known = cached[image.kernelVersion];
  if (known) return known;
  const accel = (await probeKvm(image, stateDir, qemu)) ? 'kvm' : 'tcg';
  await writeFile(cacheFile, JSON.stringify({ ...cached, [image.kernelVersion]: accel }));
  return accel;
}

/** The gid QEMU needs to open /dev/kvm when it runs under a uid of its own (the device's group), if any. */
export async function kvmGroup(): Promise<number | undefined> {
  const dev = await stat('/dev/kvm').catch(() => undefined);
  return dev && dev.mode & 0o060 ? dev.gid : undefined;
}

/** Whether a VM of this image boots to its agent under KVM. */
async function probeKvm(image: MicroVMImage, stateDir: string, qemu: string): Promise<boolean> {
  const id = `mvm-${randomBytes(8).toString('hex')}`;
  let runAs: RunAs | undefined = runAsFor(id);
  if (runAs) {
    const gid = await kvmGroup();
    if (gid === undefined) return false; // a per-VM uid could never open the device
    runAs = { uid: runAs.uid, gid };
  } else if (
    !(await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    ))
  ) {
    return false;
  }
  const dir = join(stateDir, id);
  let pid: number | undefined;
  try {
    await prepareVmDir(
      dir,
      image,
      { env: {}, tmpBytes: 1 << 20, workspaceBytes: 1 << 20, pidsLimit: 16, probe: true },
      runAs,
    );
    const args = buildQemuArgs({
      kernel: image.kernel,
      accel: 'kvm',
      limits: { memoryBytes: 256 << 20, nanoCpus: 1e9 },
    });
    pid = await launchQemu(dir, qemu, args, runAs);
    const deadline = Date.now() + PROBE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if ((await readFile(join(dir, VM_FILES.console), 'utf8').catch(() => '')).includes(PROBE_MARKER)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  } catch {
    return false;
  } finally {
    await destroyVm(dir, pid);
  }
}
