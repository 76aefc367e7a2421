// integration: alone (microVM boots under TCG take both cores; some checks count processes engine-wide)
// Integration test of command execution in a real sandbox, on every tier (test/helpers/sandbox-tiers.ts): exit codes, workdir, timeouts that kill the whole
// process group, output caps on huge output, the pids and workspace limits, the idempotency journal, and abort.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { createTierSandbox, describeTiers } from '../helpers/sandbox-tiers.js';

const MiB = 1024 * 1024;

describeTiers('sandbox exec', (tier) => {
  let sandbox: StartedSandbox;
  before(async () => {
    sandbox = await createTierSandbox(tier, 'exec', { limits: { workspaceBytes: 32 * MiB, pidsLimit: 128 } });
  });
  after(async () => {
    await sandbox?.remove();
  });

  const run = (cmd: string, extra: object = {}) => sandbox.exec({ cmd, timeoutMs: 15_000, ...extra });
  const processes = async () => (await run('ps -eo args --no-headers')).stdout;

  test('returns exit code, stdout and stderr separately', async () => {
    const r = await run('echo out; echo err >&2; exit 7');
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.timedOut, false);
    assert.equal(r.truncated, false);
    assert.equal(r.replayed, false);
    assert.equal((await run('kill -9 $$')).exitCode, 137);
  });

  test('runs in the workdir, relative or absolute inside /workspace, with env', async () => {
    await run('mkdir -p sub/dir');
    assert.equal((await run('pwd')).stdout, '/workspace\n');
    assert.equal((await run('pwd', { workdir: 'sub/dir' })).stdout, '/workspace/sub/dir\n');
    assert.equal((await run('pwd', { workdir: '/workspace/sub' })).stdout, '/workspace/sub\n');
    assert.equal((await run('echo "$FOO"', { env: { FOO: 'bar baz' } })).stdout, 'bar baz\n');
    await assert.rejects(run('pwd', { workdir: '../etc' }), (e: SandboxError) => e.code === 'path_escape');
    await assert.rejects(run('pwd', { workdir: 'missing' }), (e: SandboxError) => e.code === 'not_found');
  });

  test('a timeout kills the whole process group, setsid escapees included, with exit 124', async () => {
    const started = Date.now();
    const r = await run('sleep 101 & (setsid sleep 102 &); sleep 103; echo never', { timeoutMs: 1000 });
    assert.equal(r.exitCode, 124);
    assert.equal(r.timedOut, true);
    assert.match(r.stderr, /timed out after 1s/);
    assert.equal(r.stdout, '');
    // Far below the 103 s the command would take: the margin absorbs a loaded machine.
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.doesNotMatch(await processes(), /sleep 10[123]/);
  });

  test('a command that exits 124 by itself is not reported as timed out', async () => {
    const r = await run('exit 124');
    assert.equal(r.exitCode, 124);
    assert.equal(r.timedOut, false);
  });

  test('100 MB of output is cut to the cap with a marker, in bounded memory', async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
    const timer = setInterval(sample, 50);
    const r = await run("head -c 100000000 /dev/zero | tr '\\0' a; echo tail-end", {
      maxOutputBytes: 4096,
      timeoutMs: 120_000,
    }).finally(() => clearInterval(timer));
    sample();
    assert.equal(r.exitCode, 0);
    assert.equal(r.truncated, true);
    assert.ok(r.stdout.startsWith('a'.repeat(2048) + '\n…[truncated '), r.stdout.slice(0, 100));
    assert.ok(r.stdout.endsWith('a'.repeat(2048 - 9) + 'tail-end\n'), r.stdout.slice(-100));
    assert.match(r.stdout, /\n…\[truncated 99995913 bytes\]…\n/);
    assert.ok(peak - before < 80 * MiB, `rss grew by ${Math.round((peak - before) / MiB)} MiB`);
  });

  test('a fork bomb hits the pids limit and dies with its command; the sandbox carries on', async () => {
    // Its own sandbox: under gVisor a fork bomb can take the sandbox kernel down with it (the engine's pids limit
    // counts the kernel's threads too). That is still contained: the run sees sandbox_gone and restores.
    await using bombed = await createTierSandbox(tier, 'exec-forkbomb', { limits: { pidsLimit: 128 } });
    // Under TCG (software-emulated microVM) forking is ~10x slower: the bomb needs longer to reach its limit.
    const timeoutMs = tier.name === 'microvm' ? 30_000 : 5000;
    const started = Date.now();
    // The foreground sleep keeps the command alive until its timeout, so the bomb has all that time to reach the
    // limit (the bare bomb returns at once and only gets the agent's one-second linger grace: too short under TCG).
    const r = await bombed
      .exec({ cmd: ':(){ :|:& };:; sleep 120', timeoutMs })
      .catch((err: unknown) => err as SandboxError);
    assert.ok(Date.now() - started < timeoutMs + 15_000, `took ${Date.now() - started} ms`);
    if (r instanceof SandboxError) {
      assert.equal(tier.options?.runtime, 'runsc', `only gVisor may lose the sandbox: ${r.message}`);
      assert.equal(r.code, 'sandbox_gone');
      return;
    }
    assert.match(r.stderr, /fork: .*Resource temporarily unavailable/);
    assert.match(r.stderr, /background processes still held the output|timed out/);
    // The user's processes only: a microVM's `ps -e` also lists its kernel threads.
    const after = await bombed.exec({ cmd: 'echo alive; ps -u 1000 --no-headers | wc -l', timeoutMs: 15_000 });
    assert.equal(after.exitCode, 0);
    const [alive, count] = after.stdout.trim().split('\n');
    assert.equal(alive, 'alive');
    assert.ok(Number(count) < 10, `${count} processes left`);
  });

  test('background jobs holding the output die with their group after the command; setsid daemons are kept', async () => {
    const r = await run('sleep 106 > /dev/null 2>&1 & sleep 107 & echo started');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'started\n');
    assert.match(r.stderr, /background processes still held the output/);
    const ps = await processes();
    assert.doesNotMatch(ps, /sleep 107/);
    // It did not hold the output, but it is in the same process group as the job that did.
    assert.doesNotMatch(ps, /sleep 106/);
    const kept = await run('setsid sleep 108 > /dev/null 2>&1 & echo started');
    assert.equal(kept.stderr, '');
    assert.match(await processes(), /sleep 108/);
    await run('pkill -f "sleep 108"');
  });

  test('filling the workspace fails with ENOSPC; the sandbox carries on', async () => {
    const r = await run('yes > /workspace/big');
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /No space left on device/);
    // wc, not stat: gVisor's 2022 build answers coreutils' statx with EINVAL.
    const size = await run('wc -c < /workspace/big; rm /workspace/big; echo ok');
    const [bytes, ok] = size.stdout.trim().split('\n');
    assert.ok(Number(bytes) > 0 && Number(bytes) <= 32 * MiB, `${bytes} bytes`);
    assert.equal(ok, 'ok');
  });

  test('an idempotency key returns the journalled result without running again', async () => {
    const cmd = 'echo run >> /workspace/count; wc -l < /workspace/count; echo to-stderr >&2; exit 3';
    const first = await run(cmd, { idempotencyKey: 'wf/call-1' });
    assert.deepEqual([first.exitCode, first.stdout, first.stderr, first.replayed], [3, '1\n', 'to-stderr\n', false]);
    const again = await run(cmd, { idempotencyKey: 'wf/call-1' });
    assert.equal(again.replayed, true);
    assert.deepEqual({ ...again, replayed: false, durationMs: 0 }, { ...first, durationMs: 0 });
    assert.equal((await run('wc -l < /workspace/count')).stdout, '1\n');
    const other = await run(cmd, { idempotencyKey: 'wf/call-2' });
    assert.equal(other.stdout, '2\n');
    assert.equal(other.replayed, false);
  });

  test('the journal holds the same truncated output as the live result', async () => {
    const cmd = 'python3 -c "print(\'é€\' * 5000)"; seq 1 3000 >&2';
    const first = await run(cmd, { idempotencyKey: 'truncated', maxOutputBytes: 1001 });
    assert.equal(first.truncated, true);
    const again = await run(cmd, { idempotencyKey: 'truncated', maxOutputBytes: 1001 });
    assert.equal(again.replayed, true);
    assert.deepEqual([again.stdout, again.stderr, again.truncated], [first.stdout, first.stderr, first.truncated]);
  });

  test('a repeat while the keyed command still runs waits for it instead of running it twice', async () => {
    const cmd = 'sleep 6; echo x >> /workspace/once; wc -l < /workspace/once';
    let beats = 0;
    const first = run(cmd, { idempotencyKey: 'in-flight', onProgress: () => beats++ });
    await new Promise((r) => setTimeout(r, 500));
    // Waiting for the run in flight still honours an abort.
    const t0 = Date.now();
    await assert.rejects(run(cmd, { idempotencyKey: 'in-flight', signal: AbortSignal.timeout(200) }), {
      name: 'TimeoutError',
    });
    // Well before the command in flight ends (about 5.5 s after this wait starts).
    assert.ok(Date.now() - t0 < 3000, `abort took ${Date.now() - t0} ms`);
    const second = await run(cmd, { idempotencyKey: 'in-flight' });
    assert.equal(second.replayed, true);
    assert.equal(second.stdout, '1\n');
    assert.equal((await first).stdout, '1\n');
    assert.ok(beats >= 1, `onProgress called ${beats} times`);
  });

  test('a command cannot stop, signal or trace the agent that runs it; its timeout holds', async () => {
    // The agent runs as root (with only setuid/setgid/kill), the command as uid 1000: freezing or killing its
    // parent is refused, so the agent's own timeout still ends it.
    const r = await run(
      'kill -STOP $PPID; echo stop=$?; kill -9 1 $PPID; echo kill=$?; cat /proc/$PPID/environ; echo env=$?; sleep 109',
      { timeoutMs: 1500 },
    );
    assert.deepEqual([r.exitCode, r.timedOut], [124, true]);
    assert.match(r.stdout, /stop=1\nkill=1\n/);
    // gVisor (2022) lets uid 1000 read root's environ (nothing secret there: see docs/sandbox-agent.md).
    if (tier.options?.runtime !== 'runsc') {
      assert.match(r.stdout, /env=1/);
      assert.match(r.stderr, /Permission denied/);
    }
    assert.match(r.stderr, /Operation not permitted/);
    assert.doesNotMatch(await processes(), /sleep 109/);
  });

  test('an already aborted signal runs nothing', async () => {
    await assert.rejects(run('echo ran >> /workspace/aborted-early', { signal: AbortSignal.abort() }), {
      name: 'AbortError',
    });
    assert.equal((await run('ls aborted-early 2>/dev/null | wc -l')).stdout, '0\n');
  });

  test('an abort kills the command promptly and rejects', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = run('sleep 104 & sleep 105', { signal: controller.signal, idempotencyKey: 'aborted' });
    setTimeout(() => controller.abort(), 500);
    await assert.rejects(pending, { name: 'AbortError' });
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.doesNotMatch(await processes(), /sleep 10[45]/);
    // An aborted run leaves no journal entry: the same key runs the command for real.
    const rerun = await run('echo rerun', { idempotencyKey: 'aborted' });
    assert.deepEqual([rerun.stdout, rerun.replayed], ['rerun\n', false]);
  });
});
