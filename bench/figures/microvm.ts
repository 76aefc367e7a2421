/**
 * MicroVM sandbox figures: launch to first command output (create + one `echo`), and a command's round trip on
 * a running VM, both through the in-guest agent over virtio-serial. `microvmAccel` says whether the VMs ran under
 * KVM or TCG (software emulation, the only option where /dev/kvm cannot boot a stock kernel).
 */
import { randomUUID } from 'node:crypto';
import { defaultSandboxImage } from '../../src/agents/defaults.js';
import type { TestStack } from '../../test/helpers/stack.js';
import { microvmClient } from '../../test/helpers/microvm.js';

const BOOTS = 3;
const ROUND_TRIPS = 20;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]);
};

export default async function microvmFigures(_stack: TestStack): Promise<Record<string, number | string>> {
  const client = await microvmClient();
  const image = defaultSandboxImage();
  const labels = { workflowId: 'bench:microvm', runId: randomUUID() };
  const firstOutput: number[] = [];
  const roundTrip: number[] = [];
  try {
    for (let boot = 0; boot < BOOTS; boot++) {
      const started = performance.now();
      const sandbox = await client.create({ image, labels });
      try {
        const first = await sandbox.exec({ cmd: 'echo ready' });
        if (first.stdout !== 'ready\n') throw new Error(`unexpected first output ${JSON.stringify(first.stdout)}`);
        firstOutput.push(performance.now() - started);
        if (boot > 0) continue;
        for (let i = 0; i < ROUND_TRIPS; i++) {
          const t = performance.now();
          await sandbox.exec({ cmd: 'echo again' });
          roundTrip.push(performance.now() - t);
        }
      } finally {
        await sandbox.remove();
      }
    }
    return {
      microvmFirstOutputMedianMs: median(firstOutput),
      microvmExecRoundTripMedianMs: median(roundTrip),
      microvmAccel: await client.accelFor(image),
    };
  } finally {
    await client.close();
  }
}
