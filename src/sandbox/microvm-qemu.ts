/**
 * The QEMU command line of a microVM sandbox, in one pure function so the confinement is unit-tested without a
 * VM. Everything the VM may touch is named here: a kernel, an initramfs, one qcow2 overlay disk, one
 * virtio-serial port to a unix socket (the agent channel) and a console log file. No network device, no shared
 * host directory, no monitor; QEMU runs with seccomp (`-sandbox on` with every optional deny) and, when the worker
 * is root, under a uid of its own (see microvm.ts).
 */
import type { SandboxLimits } from './types.js';

export type MicroVMAccel = 'kvm' | 'tcg';

/** Files of one VM, relative to its directory (QEMU runs there, so unix socket paths stay short). */
export const VM_FILES = {
  overlay: 'overlay.qcow2',
  initrd: 'initrd.img',
  socket: 'agent.sock',
  console: 'console.log',
  pid: 'qemu.pid',
  meta: 'meta.json',
} as const;

/** The virtio-serial port name the agent opens inside the guest. */
export const AGENT_PORT = 'keel.agent';

const MiB = 1024 * 1024;

export interface QemuArgsInput {
  kernel: string;
  accel: MicroVMAccel;
  limits: Pick<SandboxLimits, 'memoryBytes' | 'nanoCpus'>;
  /** Extra kernel command-line words (the accel probe uses one). */
  append?: string[];
}

/** vCPUs from Docker-style NanoCpus (rounded up: a VM cannot have half a CPU). */
export function vcpusOf(nanoCpus: number): number {
  return Math.max(1, Math.ceil(nanoCpus / 1e9));
}

/** Guest RAM in MiB; at least 128 (the kernel and agent need about 50). */
export function memoryMiBOf(memoryBytes: number): number {
  return Math.max(128, Math.floor(memoryBytes / MiB));
}

/**
 * Boot work a sandbox VM does not need, which costs seconds under TCG: boot-time crypto self-tests, PCI probing
 * (microvm has no PCI bus), audit and LSMs (the agent and uid 1000 are the only users).
 */
const LEAN = ['cryptomgr.notests', 'pci=off', 'audit=0', 'apparmor=0', 'no_timer_check', '8250.nr_uarts=1'];

/**
 * Kernel command line. Under TCG the microvm machine has no HPET or ACPI PM timer and a loaded host makes PIT
 * calibration of the TSC fail (the boot then hangs), so the TSC frequency is given and declared reliable.
 */
function kernelCmdline(accel: MicroVMAccel, extra: string[]): string {
  const base = ['console=ttyS0', 'quiet', 'panic=-1', 'reboot=t', 'rdinit=/init', ...LEAN];
  // TCG does not speculate, so the guest's CPU-vulnerability mitigations only cost time there.
  const timers = accel === 'tcg' ? ['tsc_early_khz=2600000', 'tsc=reliable', 'lpj=10400000', 'mitigations=off'] : [];
  return [...base, ...timers, ...extra].join(' ');
}

export function buildQemuArgs(input: QemuArgsInput): string[] {
  const machine = input.accel === 'tcg' ? 'microvm,pit=on,pic=on,rtc=on' : 'microvm,pit=off,pic=off,rtc=on';
  return [
    '-M',
    machine,
    ...(input.accel === 'tcg' ? ['-accel', 'tcg', '-cpu', 'max'] : ['-accel', 'kvm', '-cpu', 'host']),
    '-m',
    `${memoryMiBOf(input.limits.memoryBytes)}M`,
    '-smp',
    String(vcpusOf(input.limits.nanoCpus)),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-sandbox',
    'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    '-kernel',
    input.kernel,
    '-initrd',
    VM_FILES.initrd,
    '-append',
    kernelCmdline(input.accel, input.append ?? []),
    '-serial',
    `file:${VM_FILES.console}`,
    '-drive',
    `id=root,file=${VM_FILES.overlay},format=qcow2,if=none,cache=unsafe,discard=unmap`,
    '-device',
    'virtio-blk-device,drive=root',
    '-device',
    'virtio-serial-device,max_ports=2',
    '-chardev',
    `socket,id=agent,path=${VM_FILES.socket},server=on,wait=off`,
    '-device',
    `virtserialport,chardev=agent,name=${AGENT_PORT}`,
    '-pidfile',
    VM_FILES.pid,
  ];
}
