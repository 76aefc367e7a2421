/**
 * Live-run figures: how long an item takes from landing in the workflow to reaching a subscriber of
 * `client.stream` (streamLatency*) and an SSE client of `keel serve` (serveEventLatencyMs, the same run shape over
 * HTTP: goal <= 1.2 x streamLatencyMedianMs), a token delta from the callModel activity through Redis to the subscriber
 * (tokenDeltaLatencyMedianMs), and one `send` of a conversation answered by a zero-latency model (conversationTurnMs).
 */
import { Client } from '@temporalio/client';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { KeelClient } from '../../src/client.js';
import { DeltaBroker } from '../../src/live/broker.js';
import { startServe } from '../../src/serve/server.js';
import { TokenTable } from '../../src/serve/tokens.js';
import { localStores } from '../../src/storage/config.js';
import { readEvents } from '../../test/helpers/sse.js';
import { startTestRedis } from '../../test/helpers/redis.js';
import { waitForStatus } from '../../test/helpers/runs.js';
import { queueFor, type TestStack } from '../../test/helpers/stack.js';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x: number) => Math.round(x * 10) / 10;

const TURNS = 40;
const SENDS = 20;
const LONG_ANSWER = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');

function agents(stack: TestStack) {
  stack.model.setScript('bench-live-loop', {
    steps: [
      ...Array.from({ length: TURNS - 1 }, (_, i) => ({ toolCalls: [{ name: 'noop', arguments: { i } }] })),
      { message: 'done' },
    ],
  });
  // The delay lets the subscriber be listening before the first delta, so the figure is the broker path, not joining.
  stack.model.setScript('bench-live-text', { steps: [{ message: LONG_ANSWER, delayMs: 1_500 }] });
  stack.model.setScript('bench-live-chat', {
    steps: Array.from({ length: SENDS + 1 }, (_, i) => ({ message: `answer ${i}` })),
  });
  const noop = tool({
    name: 'noop',
    description: 'does nothing',
    parameters: z.object({ i: z.number() }),
    execute: ({ i }) => i,
  });
  return [
    new Agent({
      name: 'bench_live_loop',
      instructions: 'bench',
      model: 'bench-live-loop',
      tools: [noop],
      maxTurns: TURNS,
    }),
    new Agent({ name: 'bench_live_text', instructions: 'bench', model: 'bench-live-text' }),
    new Agent({
      name: 'bench_live_chat',
      instructions: 'bench',
      model: 'bench-live-chat',
      conversation: true,
      maxTurns: 2,
    }),
  ];
}

async function streamLatencies(client: KeelClient): Promise<number[]> {
  const runId = await client.startRun('bench_live_loop', 'go');
  const latencies: number[] = [];
  for await (const ev of client.stream(runId, { tokens: false })) {
    if (ev.type === 'item' && ev.item.type === 'tool_result') latencies.push(Date.now() - Date.parse(ev.at));
  }
  return latencies;
}

/** `streamLatencies` through `keel serve` (started in this process, as the CLI starts it): run event -> SSE client. */
async function serveLatencies(client: KeelClient, stack: TestStack): Promise<number[]> {
  const token = 'bench-token-0123456789abcdefghij';
  const server = await startServe({
    client,
    tokens: new TokenTable([{ token, principal: 'bench', can: ['read'] }]),
    blobs: localStores(stack.dataDir).blobs,
    port: 0,
  });
  try {
    const runId = await client.startRun('bench_live_loop', 'go');
    const latencies: number[] = [];
    const response = await fetch(`${server.url}/v1/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await readEvents(response, undefined, (e) => {
      if (e.data.type === 'item' && e.data.item?.type === 'tool_result')
        latencies.push(Date.now() - Date.parse(e.data.at!));
    });
    return latencies;
  } finally {
    await server.close();
  }
}

async function deltaLatencies(client: KeelClient): Promise<number[]> {
  const latencies: number[] = [];
  for (let run = 0; run < 5; run++) {
    const runId = await client.startRun('bench_live_text', 'go');
    for await (const ev of client.stream(runId)) if (ev.type === 'delta') latencies.push(Date.now() - ev.publishedAt);
  }
  return latencies;
}

async function sendDurations(client: KeelClient): Promise<number[]> {
  const runId = await client.startRun('bench_live_chat', 'hello');
  await waitForStatus(client, runId, 'awaiting_input');
  const durations: number[] = [];
  for (let i = 0; i < SENDS; i++) {
    const t0 = performance.now();
    await client.send(runId, `message ${i}`);
    durations.push(performance.now() - t0);
  }
  await client.endConversation(runId);
  await client.result(runId);
  return durations;
}

export default async function liveFigures(stack: TestStack): Promise<Record<string, number>> {
  const redis = await startTestRedis();
  const broker = await DeltaBroker.connect(redis.url);
  const queue = queueFor('bench-live');
  try {
    const worker = await stack.worker(agents(stack), queue, { broker });
    const client = new KeelClient(new Client({ connection: stack.clientConnection }), queue, { broker });
    return await worker.runUntil(async () => {
      const stream = await streamLatencies(client);
      const served = await serveLatencies(client, stack);
      const deltas = await deltaLatencies(client);
      const sends = await sendDurations(client);
      return {
        streamLatencyMedianMs: round(pct(stream, 50)),
        streamLatencyP95Ms: round(pct(stream, 95)),
        serveEventLatencyMs: round(pct(served, 50)),
        tokenDeltaLatencyMedianMs: round(pct(deltas, 50)),
        conversationTurnMs: round(pct(sends, 50)),
      };
    });
  } finally {
    await broker.close();
    await redis.close();
  }
}
