/**
 * Two hosts that share only Temporal and the object store: two worker processes, each with its own KEEL_HOME and
 * host queue, both pointed at one S3 bucket (SeaweedFS). Host A produces a large tool output (offloaded to the blob
 * store) and an image, snapshots the workspace, and is then killed mid-run: its worker SIGKILLed, its container
 * removed. The run goes on on host B from the last snapshot, and the model requests B makes carry the whole output
 * and the exact image. With blobs in each host's own directory, B could not read them and this test fails. Then B
 * dies the same way, and a third host, C, carries the run to its end from B's last snapshot.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { RecordedRequest } from '../../src/testing/scripted-model.js';
import { crashAgents } from '../helpers/crash-agents.js';
import { WorkerProcesses } from '../helpers/crash.js';
import { waitFor } from '../helpers/runs.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { removeRunContainers, toolResults } from '../helpers/sandbox.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execCall as exec } from '../helpers/script-steps.js';

let stack: TestStack;
let s3: S3Server;
let workers: WorkerProcesses;
before(async () => {
  await requireImage();
  // One after the other: when one fails to start, the other is already assigned, so `after` stops it.
  stack = await startTestStack();
  s3 = await startS3Server();
  workers = new WorkerProcesses(stack);
});
after(async () => {
  await workers?.stopAll();
  await Promise.all([stack?.close(), s3?.stop()]);
});

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
/** About 24 KB of numbered lines: over the 2 KB kept in history, under the 32 KB cap on what the model gets. */
const BIG = Array.from({ length: 2000 }, (_, i) => `line ${100000 + i}`).join('\n');

/** Every file under `dir` (what a host kept locally). */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);

/** The model input items of a recorded request, as JSON text. */
const inputOf = (r: RecordedRequest): string => JSON.stringify(r.body.input);

test(
  "host A dies mid-run; host B continues from the last snapshot with A's large output and image intact; then B dies and host C finishes",
  { timeout: 480_000 },
  async () => {
    const agent = crashAgents.multiHost;
    const script = agent.options.model as string;
    stack.model.setScript(script, {
      recordRequests: true,
      steps: [
        { toolCalls: [exec(`echo ${PNG} | base64 -d > dot.png; seq -f 'line %.0f' 100000 101999`)] },
        { toolCalls: [{ name: 'view_image', arguments: { path: 'dot.png' } }] },
        // In flight when host A dies; the answer's command must then run on host B.
        { delayMs: 4_000, toolCalls: [exec('base64 -w0 dot.png; echo; ls')] },
        // In flight when host B dies in turn; the answer's command must then run on host C.
        { delayMs: 4_000, toolCalls: [exec('echo second > after-b.txt; ls')] },
        { message: 'done' },
      ],
    });
    const queue = queueFor('multi-host');
    const prefix = `multi-host-${Date.now().toString(36)}`;
    const hosts = await Promise.all(
      ['a', 'b'].map(async (name) => ({ name, ...(await workers.startHost(queue, name, s3.env(prefix))) })),
    );
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'go', { hostPickupTimeoutMs: 3_000 });
    const before = await waitFor(
      'a snapshot, then the third model call in flight',
      async () => {
        const s = await client.getState(id);
        return s.sandbox?.lastSnapshot && stack.model.stats(script).perStep[2] >= 1 ? s : undefined;
      },
      120_000,
    );
    // Host A is whichever picked up the sandbox; B is the other.
    const [a, b] = before.sandbox!.taskQueue === `${queue}@a` ? hosts : [...hosts].reverse();
    const killedAt = await a.worker.kill();
    const removed = await removeRunContainers(id);
    assert.deepEqual(removed, [before.sandbox!.containerId], "host A's container, found by its labels");

    // If host B or the S3 server dies unasked, say so with its output, rather than wait on a run nobody can finish.
    const onB = await Promise.race([
      waitFor(
        'host B to snapshot turn 3, then the fourth model call in flight',
        async () => {
          const s = await client.getState(id);
          return s.sandbox?.taskQueue === `${queue}@${b.name}` &&
            (s.sandbox.lastSnapshot?.turn ?? 0) >= 3 &&
            stack.model.stats(script).perStep[3] >= 1
            ? s
            : undefined;
        },
        120_000,
      ),
      b.worker.exited.then(({ code, signal }) =>
        assert.fail(`host B exited (code ${code}, signal ${signal}) before it was stopped:\n${b.worker.output()}`),
      ),
      s3.died.then((why) => assert.fail(`the S3 server died mid-test: ${why}`)),
    ]);

    // The run survives its second host dying too: host C takes over from B's last snapshot.
    await b.worker.kill();
    assert.deepEqual(await removeRunContainers(id), [onB.sandbox!.containerId], "host B's container");
    const c = { name: 'c', ...(await workers.startHost(queue, 'c', s3.env(prefix))) };
    const result = await Promise.race([
      client.result(id),
      s3.died.then((why) => assert.fail(`the S3 server died mid-test: ${why}`)),
    ]);
    assert.equal(result.finalOutput, 'done');
    const state = await client.getState(id);
    assert.equal(state.sandbox!.taskQueue, `${queue}@${c.name}`, 'the sandbox moved on to host C');
    const [big, image, after, afterB] = toolResults(state);
    assert.match(
      afterB.output,
      /^\[keel\] The sandbox host was lost; the workspace was restored from the snapshot of turn 3\./,
    );
    assert.match(afterB.output, /after-b\.txt/);
    assert.ok(
      big.blob && !big.output.includes(BIG),
      'history keeps a preview of the large output; the whole is a blob',
    );
    assert.equal(image.image?.mediaType, 'image/png');
    assert.match(
      after.output,
      /^\[keel\] The sandbox host was lost; the workspace was restored from the snapshot of turn 1\./,
    );
    assert.match(
      after.output,
      new RegExp(`stdout:\\n${PNG.replace(/[+/]/g, '\\$&')}\\n`),
      'the image file came back from the snapshot',
    );

    // What B sent the model after A died: the whole output and the exact image, read from the shared store.
    const fromB = stack.model.requests(script).filter((r) => r.at > killedAt);
    assert.ok(
      fromB.some((r) => r.step === 3),
      `no request for the last step after the kill: ${fromB.map((r) => r.step)}`,
    );
    for (const r of fromB) {
      assert.ok(
        inputOf(r).includes(JSON.stringify(BIG).slice(1, -1)),
        `step ${r.step}: the large output reached the model whole`,
      );
      assert.ok(
        inputOf(r).includes(`"image_url":"data:image/png;base64,${PNG}"`),
        `step ${r.step}: the image reached the model intact`,
      );
    }
    // Nothing of the run lives on either host: blobs and snapshots are all in the bucket.
    const local = [...filesUnder(a.home), ...filesUnder(b.home), ...filesUnder(c.home)];
    assert.deepEqual(local, [], "no blob or snapshot was written to a host's KEEL_HOME");
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
    assert.ok((listed.KeyCount ?? 0) > 3, "the run's blobs and snapshot objects are in the bucket");
  },
);
