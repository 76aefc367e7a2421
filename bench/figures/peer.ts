/**
 * The peer: the OpenAI Agents SDK's own Docker sandbox (`@openai/agents` dev dependency) on Keel's sandbox image,
 * timed the way its users meet it: `create()` a session, `exec` `echo first`, until the output is back. Measured in
 * the same bench run as `sandboxFirstOutputMedianMs`, so the ratio is recorded, not remembered. Absent peer: no figure.
 */
import { performance } from 'node:perf_hooks';

const image = process.env.KEEL_SANDBOX_IMAGE ?? 'keel-sandbox:latest';
const SAMPLES = 5;

interface PeerSession {
  exec(args: { cmd: string }): Promise<{ stdout?: string; output?: string } | unknown>;
  close(): Promise<void>;
}

async function peerClient(): Promise<{ create(): Promise<PeerSession> } | undefined> {
  try {
    const { DockerSandboxClient } = (await import('@openai/agents/sandbox/local')) as unknown as {
      DockerSandboxClient: new (o: { image: string }) => { create(): Promise<PeerSession> };
    };
    return new DockerSandboxClient({ image });
  } catch {
    return undefined;
  }
}

export default async function peerFigures(): Promise<Record<string, number | string>> {
  const client = await peerClient();
  if (!client) return { peerSandbox: 'not installed (npm i -D @openai/agents)' };
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    const session = await client.create();
    try {
      const out = JSON.stringify(await session.exec({ cmd: 'echo first' }));
      if (!out.includes('first')) throw new Error(`peer sandbox answered ${out.slice(0, 200)}`);
      samples.push(performance.now() - t0);
    } finally {
      await session.close();
    }
  }
  samples.sort((a, b) => a - b);
  return {
    peerSandboxFirstOutputMs: Math.round(samples[Math.floor(SAMPLES / 2)]),
    peerSandbox: `@openai/agents DockerSandboxClient on ${image}`,
  };
}

export const worker = 'none: the peer SDK in the bench process, against the same Docker engine';
