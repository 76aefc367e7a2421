// Pure parts of the microVM tier: the QEMU command line's confinement and limits, the per-VM config archive,
// and the per-VM QEMU uid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpioArchive } from '../../src/sandbox/microvm-image.js';
import { buildQemuArgs, memoryMiBOf, vcpusOf } from '../../src/sandbox/microvm-qemu.js';
import { runAsFor } from '../../src/sandbox/microvm-vm.js';

const MiB = 1024 * 1024;
const argOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('the QEMU command line has no network, no shared host files, no monitor, and seccomp on', () => {
  const args = buildQemuArgs({ kernel: '/k/vmlinux', accel: 'tcg', limits: { memoryBytes: 512 * MiB, nanoCpus: 2e9 } });
  for (const flag of ['-nodefaults', '-no-user-config', '-no-reboot']) assert.ok(args.includes(flag), flag);
  assert.ok(!args.some((a) => /netdev|-nic|virtfs|fsdev|vhost|-monitor|-qmp|-net\b/.test(a)), args.join(' '));
  assert.equal(argOf(args, '-sandbox'), 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  assert.equal(argOf(args, '-m'), '512M');
  assert.equal(argOf(args, '-smp'), '2');
  // The only devices: the overlay disk and the agent's serial port.
  assert.deepEqual(
    args.filter((_, i) => args[i - 1] === '-device').map((d) => d.split(',')[0]),
    ['virtio-blk-device', 'virtio-serial-device', 'virtserialport'],
  );
  assert.match(argOf(args, '-append'), /tsc=reliable/, 'TCG boots need the TSC flags');
  assert.equal(argOf(args, '-accel'), 'tcg');
  assert.equal(
    argOf(buildQemuArgs({ kernel: 'k', accel: 'kvm', limits: { memoryBytes: MiB << 10, nanoCpus: 1e9 } }), '-accel'),
    'kvm',
  );
});

test('vCPUs round up and memory has a floor', () => {
  assert.deepEqual([vcpusOf(5e8), vcpusOf(1e9), vcpusOf(1.5e9)], [1, 1, 2]);
  assert.deepEqual([memoryMiBOf(16 * MiB), memoryMiBOf(1024 * MiB)], [128, 1024]);
});

test('the per-VM config is a newc archive the kernel (and cpio) can read', () => {
  const archive = cpioArchive('keel-vm.json', Buffer.from('{"env":{}}'));
  assert.equal(archive.length % 4, 0);
  const listed = execFileSync('cpio', ['-it', '--quiet'], { input: archive }).toString();
  assert.equal(listed.trim(), 'keel-vm.json');
  const content = execFileSync('cpio', ['-i', '--to-stdout', '--quiet', 'keel-vm.json'], { input: archive }).toString();
  assert.equal(content, '{"env":{}}');
});

test('as root, each VM gets a QEMU uid of its own, never root; otherwise QEMU runs as the worker', () => {
  if (process.getuid?.() !== 0) {
    assert.equal(runAsFor('mvm-0000000000000001'), undefined);
    return;
  }
  const a = runAsFor('mvm-0000000000000001')!;
  const b = runAsFor('mvm-0000000000000002')!;
  assert.ok(a.uid >= 0x30000000 && b.uid >= 0x30000000);
  assert.notEqual(a.uid, b.uid);
  assert.deepEqual(runAsFor('mvm-0000000000000001'), a);
});
