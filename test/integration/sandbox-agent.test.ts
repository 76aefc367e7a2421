// integration: alone (microVM boots under TCG take both cores; some checks count processes engine-wide)
// Integration test of the in-sandbox agent on every tier: it needs nothing from the image (a busybox-only image
// with no python, bash or tar runs every sandbox operation), nothing a hostile workspace plants runs inside it
// (issue 10), and on Docker: the warm pool, and gVisor's clear refusal of networking without leaked processes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SandboxError } from '../../src/errors.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { docker, image, requireImage } from '../helpers/sandbox-fixture.js';
import { createTierSandbox, describeTiers } from '../helpers/sandbox-tiers.js';

const MINIMAL = 'keel-sandbox-minimal:latest';

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describeTiers('an image with nothing but busybox', (tier) => {
  let sandbox: StartedSandbox;
  before(async () => {
    const built = spawnSync('bash', ['scripts/build-minimal-image.sh'], { encoding: 'utf8' });
    assert.equal(built.status, 0, `scripts/build-minimal-image.sh failed: ${built.stderr}`);
    sandbox = await createTierSandbox(tier, 'minimal', { image: MINIMAL });
  });
  after(async () => {
    await sandbox?.remove();
  });

  test('runs commands with its sh, and has no python, bash or tar', async () => {
    const r = await sandbox.exec({
      cmd: 'echo "$0 $(id -u)"; ls /bin | wc -l; ls /usr/bin/python3 /bin/bash /bin/tar /usr/bin/tar',
      timeoutMs: 10_000,
    });
    assert.match(r.stdout, /^\/bin\/sh 1000\n\s*12\n/);
    assert.equal(r.stderr.match(/No such file or directory/g)?.length, 4, r.stderr);
  });

  test('file tools, snapshots and restore work without any of them', async () => {
    await sandbox.writeFile('d/f.txt', 'minimal');
    assert.equal((await sandbox.readFile('d/f.txt')).toString(), 'minimal');
    assert.deepEqual(await sandbox.listDir('d'), [{ name: 'f.txt', type: 'file', size: 7 }]);
    const tar = await collect(await sandbox.exportWorkspace());
    await sandbox.removeFile('d/f.txt');
    await sandbox.putArchive(tar);
    assert.equal((await sandbox.exec({ cmd: 'cat d/f.txt', timeoutMs: 10_000 })).stdout, 'minimal');
  });

  test('timeouts and the journal work without a shell utility in sight', async () => {
    const r = await sandbox.exec({ cmd: 'sleep 100 & sleep 101', timeoutMs: 500 });
    assert.deepEqual([r.exitCode, r.timedOut], [124, true]);
    const once = await sandbox.exec({ cmd: 'echo x >> n; wc -l < n', idempotencyKey: 'k', timeoutMs: 10_000 });
    const again = await sandbox.exec({ cmd: 'echo x >> n; wc -l < n', idempotencyKey: 'k', timeoutMs: 10_000 });
    assert.deepEqual([once.stdout.trim(), again.stdout.trim(), again.replayed], ['1', '1', true]);
  });
});

// What a hostile workspace plants so that, with the old python helpers, it ran on the next read_file/list_dir
// (module shadowing, per-user site customisation, .pth hooks, look-alike programs first on PATH) or forged a
// command's journalled result. Each plant touches /tmp/pwned-<name> when run.
const PLANTS: Record<string, string> = {
  'os.py': 'open("/tmp/pwned-os", "w")',
  'json.py': 'open("/tmp/pwned-json", "w")',
  'sitecustomize.py': 'open("/tmp/pwned-site", "w")',
  '/home/keel/.local/lib/python3.11/site-packages/usercustomize.py': 'open("/tmp/pwned-user", "w")',
  '/home/keel/.local/lib/python3.11/site-packages/evil.pth': 'import os; open("/tmp/pwned-pth", "w")',
  'bin/tar': '#!/bin/sh\ntouch /tmp/pwned-tar\n',
  'bin/python3': '#!/bin/sh\ntouch /tmp/pwned-python\n',
  'bin/bash': '#!/bin/sh\ntouch /tmp/pwned-bash\n',
};

describeTiers('a hostile workspace', (tier) => {
  let sandbox: StartedSandbox;
  before(async () => {
    sandbox = await createTierSandbox(tier, 'hostile');
    for (const [path, body] of Object.entries(PLANTS)) {
      if (!path.startsWith('/')) await sandbox.writeFile(path, body);
      else
        await sandbox.exec({
          cmd: `mkdir -p "$(dirname ${path})" && printf '%s' "$B" > ${path}`,
          env: { B: body },
          timeoutMs: 10_000,
        });
    }
    await sandbox.exec({ cmd: 'chmod +x bin/*', timeoutMs: 10_000 });
  });
  after(async () => {
    await sandbox?.remove();
  });

  test('every agent-backed operation still behaves and nothing planted runs', async () => {
    const env = { PATH: '/workspace/bin:/usr/bin:/bin', PYTHONPATH: '/workspace', PYTHONSTARTUP: '/workspace/os.py' };
    await sandbox.writeFile('notes.txt', 'fine');
    assert.equal((await sandbox.readFile('notes.txt')).toString(), 'fine');
    assert.ok((await sandbox.listDir('.')).some((e) => e.name === 'os.py'));
    const tar = await collect(await sandbox.exportWorkspace());
    await sandbox.putArchive(tar, 'copy');
    await sandbox.removeFile('copy/notes.txt');
    const keyed = await sandbox.exec({ cmd: 'echo ran', idempotencyKey: 'hostile', env, timeoutMs: 10_000 });
    const replay = await sandbox.exec({ cmd: 'echo ran', idempotencyKey: 'hostile', env, timeoutMs: 10_000 });
    assert.deepEqual([keyed.stdout, replay.stdout, replay.replayed], ['ran\n', 'ran\n', true]);
    const timedOut = await sandbox.exec({ cmd: 'sleep 30', env, timeoutMs: 300 });
    assert.equal(timedOut.timedOut, true);
    const pwned = await sandbox.exec({ cmd: 'ls /tmp | grep pwned; true', timeoutMs: 10_000 });
    assert.equal(pwned.stdout, '', `planted code ran: ${pwned.stdout}`);
  });

  test("a command cannot forge the journal: the agent's state is not the user's to write", async () => {
    const r = await sandbox.exec({
      cmd: 'ls -d /run/keel/journal; echo forged > /run/keel/journal/x.json; echo rc=$?',
      timeoutMs: 10_000,
    });
    assert.match(r.stdout, /rc=1/);
  });
});

describe('the warm pool (Docker)', () => {
  let pooled: DockerSandboxClient;
  before(async () => {
    await requireImage();
    pooled = new DockerSandboxClient({ docker, pool: { size: 1, idleMs: 60_000 } });
  });
  after(async () => {
    await pooled?.close();
  });
  const options = (workflowId: string) => ({
    image,
    labels: { workflowId, runId: randomUUID(), scope: 'test-pool' },
    env: { RUN: workflowId },
  });

  test('hands out a ready container once, refills, and reaps a claimed one by its agent-held owner', async () => {
    const first = await pooled.create(options('test:pool-1'));
    await pooled.pool!.settled();
    const idle = await docker.listContainers({ filters: { label: [`${LABELS.pool}`, `${LABELS.scope}=test-pool`] } });
    const ready = idle.map((c) => c.Id).filter((id) => id !== first.id);
    assert.equal(ready.length, 1, 'the pool refilled one container');
    const second = await pooled.create(options('test:pool-2'));
    assert.equal(second.id, ready[0], 'the second run got the pooled container');
    assert.equal((await second.exec({ cmd: 'echo $RUN', timeoutMs: 10_000 })).stdout, 'test:pool-2\n');
    await assert.rejects(
      // A claimed sandbox cannot be claimed again (by a second run, or a bug).
      (pooled as unknown as { connection(c: unknown): Promise<{ claim(e: object, l: object): Promise<void> }> })
        .connection(docker.getContainer(second.id))
        .then((a) => a.claim({}, { workflowId: 'test:thief', runId: 'r' })),
      /already claimed/,
    );
    await pooled.pool!.settled();
    const removed = await pooled.reapOrphans(async (l) => l.workflowId !== 'test:pool-2');
    assert.deepEqual(removed, [second.id], 'only the dead run’s claimed container is reaped; the idle one stays');
    await first.remove();
  });

  test('idle containers expire', async () => {
    const short = new DockerSandboxClient({ docker, pool: { size: 1, idleMs: 1_000 } });
    try {
      await (await short.create(options('test:pool-expire'))).remove();
      await short.pool!.settled();
      const ls = () =>
        docker.listContainers({ all: true, filters: { label: [`${LABELS.pool}`, `${LABELS.scope}=test-pool`] } });
      const idleIds = (await ls()).map((c) => c.Id).filter((id) => short.pool!.has((s) => s.id === id));
      assert.ok(idleIds.length >= 1);
      await new Promise((r) => setTimeout(r, 2_500));
      const left = (await ls()).map((c) => c.Id);
      assert.ok(
        idleIds.every((id) => !left.includes(id)),
        'the idle container was removed after idleMs',
      );
    } finally {
      await short.close();
    }
  });
});

describe('gVisor (Docker runtime runsc)', () => {
  const runscProcesses = () =>
    execFileSync('ps', ['-eo', 'args', '--no-headers'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /runsc-(sandbox|gofer)|containerd-shim.*runsc/.test(l));
  const client = new DockerSandboxClient({ docker });

  test('a networked gVisor sandbox fails with one clear error, creating nothing', async () => {
    await requireImage();
    const before = (await docker.listContainers({ all: true })).length;
    await assert.rejects(
      client.create({ image, labels: { workflowId: 'test:gvisor-net', runId: 'r' }, runtime: 'runsc', network: true }),
      (e: SandboxError) => e.code === 'sandbox_unavailable' && /gVisor.*network: false/.test(e.message),
    );
    assert.ok((await docker.listContainers({ all: true })).length <= before);
  });

  test('a gVisor sandbox whose start fails leaves no runsc process behind', async () => {
    const runsc = () => runscProcesses().length;
    const before = runsc();
    // Far below what the gVisor kernel needs (1 pid, 6 MiB): it cannot come up.
    const err = await client
      .create({
        image,
        labels: { workflowId: 'test:gvisor-fail', runId: 'r' },
        runtime: 'runsc',
        limits: { memoryBytes: 6 * 1024 * 1024, pidsLimit: 1 },
      })
      .then(
        (s) => s.remove().then(() => undefined),
        (e: unknown) => e as SandboxError,
      );
    assert.ok(err instanceof SandboxError, 'the start failed');
    assert.equal(err.code, 'sandbox_unavailable');
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.workflowId}=test:gvisor-fail`] },
    });
    assert.deepEqual(left, [], 'the failed container was removed');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(runsc() <= before, `runsc processes before ${before}, after ${runsc()}`);
  });
});
