// Integration test of the bubblewrap sandbox (src/sandbox/unix-local.ts): the same contract as the Docker one,
// minus resource limits. scripts/setup.sh installs bubblewrap; without it this suite fails and says so.
// Its limit (issue 18): a command can forge the agent's journal, so a worker on this tier refuses agents that gate
// command tools behind approval, and runs the others.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { RunFailedError } from '../../src/client.js';
import { SandboxError } from '../../src/errors.js';
import { AGENT_STATE } from '../../src/sandbox/hardening.js';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { UnixLocalSandboxClient } from '../../src/sandbox/unix-local.js';
import { toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const isCode = (code: string) => (e: unknown) => e instanceof SandboxError && e.code === code;
const hostProcesses = () => execFileSync('ps', ['-eo', 'args', '--no-headers'], { encoding: 'utf8' });

/** Where the in-sandbox agent keeps the journal entry of `key` (agent/journal.go's naming). */
function journalPath(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return `${AGENT_STATE}/journal/${readable}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`;
}

describe('unix-local sandbox (bubblewrap)', { timeout: 120_000 }, () => {
  let baseDir: string;
  let client: UnixLocalSandboxClient;
  let sandbox: StartedSandbox;
  before(async () => {
    assert.equal(
      spawnSync('bwrap', ['--version']).status,
      0,
      'bwrap is not installed: run scripts/setup.sh (Debian package bubblewrap)',
    );
    baseDir = await mkdtemp(join(tmpdir(), 'keel-local-'));
    client = new UnixLocalSandboxClient({ baseDir });
    sandbox = await client.create({ image: 'ignored', labels: { workflowId: 'test:local', runId: randomUUID() } });
  });
  after(async () => {
    await sandbox?.remove();
    await rm(baseDir, { recursive: true, force: true });
  });

  test('runs commands as uid 1000 in /workspace without network', async () => {
    const r = await sandbox.exec({ cmd: 'id -u; pwd; echo err >&2; exit 5' });
    assert.deepEqual([r.exitCode, r.stdout, r.stderr], [5, '1000\n/workspace\n', 'err\n']);
    const net = await sandbox.exec({
      cmd: `python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"`,
    });
    assert.notEqual(net.exitCode, 0);
    assert.notEqual((await sandbox.exec({ cmd: 'touch /usr/keel-probe' })).exitCode, 0);
    assert.notEqual((await sandbox.exec({ cmd: 'cat /etc/shadow' })).exitCode, 0);
  });

  test('a timeout kills every process of the command', async () => {
    const r = await sandbox.exec({ cmd: 'sleep 111 & (setsid sleep 112 &); sleep 113', timeoutMs: 800 });
    assert.deepEqual([r.exitCode, r.timedOut], [124, true]);
    assert.doesNotMatch(hostProcesses(), /sleep 11[123]/);
  });

  test('an abort kills the command promptly', async () => {
    const started = Date.now();
    await assert.rejects(sandbox.exec({ cmd: 'sleep 114', signal: AbortSignal.timeout(300) }), {
      name: 'TimeoutError',
    });
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`); // the command would take 114 s
    assert.doesNotMatch(hostProcesses(), /sleep 114/);
  });

  test('file operations resolve inside the workspace and refuse escapes', async () => {
    await sandbox.writeFile('d/f.txt', 'local');
    assert.equal((await sandbox.readFile('d/f.txt')).toString(), 'local');
    assert.deepEqual(await sandbox.listDir('d'), [{ name: 'f.txt', type: 'file', size: 5 }]);
    await sandbox.exec({ cmd: 'ln -s / root' });
    await assert.rejects(sandbox.readFile('root/etc/passwd'), isCode('path_escape'));
    await assert.rejects(sandbox.readFile('../meta.json'), isCode('path_escape'));
    await assert.rejects(sandbox.writeFile('/tmp/x', 'x'), isCode('path_escape'));
  });

  test('the idempotency journal survives between commands', async () => {
    const cmd = 'echo x >> n; wc -l < n';
    assert.equal((await sandbox.exec({ cmd, idempotencyKey: 'k' })).stdout, '1\n');
    const again = await sandbox.exec({ cmd, idempotencyKey: 'k' });
    assert.deepEqual([again.stdout, again.replayed], ['1\n', true]);
  });

  test('the limit: a command can forge the journal result of a later keyed command', async () => {
    const forged = JSON.stringify({ exitCode: 0, stdout: 'forged\n', stderr: '' });
    await sandbox.exec({ cmd: `printf '%s' '${forged}' > ${journalPath('run/call_9_0')}` });
    const later = await sandbox.exec({ cmd: 'echo real', idempotencyKey: 'run/call_9_0' });
    assert.deepEqual(
      [later.stdout, later.replayed],
      ['forged\n', true],
      'the agent returned the forged result without running the command',
    );
  });

  test('exports and restores a workspace; attach and reap follow the directory', async () => {
    await sandbox.writeFile('snap/s.txt', 'kept');
    const other = await client.create({ image: 'ignored', labels: { workflowId: 'test:local-orphan', runId: 'r' } });
    await other.putArchive(await sandbox.exportWorkspace());
    assert.equal((await other.readFile('snap/s.txt')).toString(), 'kept');
    assert.ok(await client.attach(other.id));
    const removed = await client.reapOrphans(async (labels) => labels.workflowId !== 'test:local-orphan');
    assert.deepEqual(removed, [other.id]);
    assert.equal(await client.attach(other.id), undefined);
    await assert.rejects(other.exec({ cmd: 'true' }), isCode('sandbox_gone'));
    assert.ok(await client.attach(sandbox.id));
    assert.equal(await client.attach('../etc'), undefined);
  });
});

describe('agents on a bubblewrap worker', { timeout: 180_000 }, () => {
  let stack: TestStack;
  let baseDir: string;
  before(async () => {
    stack = await startTestStack();
    baseDir = await mkdtemp(join(tmpdir(), 'keel-local-agents-'));
  });
  after(async () => {
    await stack?.close();
    await rm(baseDir, { recursive: true, force: true });
  });

  /** Runs `agent` on a worker whose sandboxes are bubblewrap ones; the result (or failure) and the RunState. */
  async function runOnBubblewrap(agent: SandboxAgent) {
    const queue = queueFor(agent.name);
    const sandboxes = new UnixLocalSandboxClient({ baseDir });
    const worker = await stack.worker([agent], queue, { sandboxes });
    const client = stack.client(queue);
    try {
      return await worker.runUntil(async () => {
        const id = await client.startRun(agent, 'go');
        const result = await client.result(id).catch((err: unknown) => err);
        return { result, state: await client.getState(id) };
      });
    } finally {
      await sandboxes.close();
    }
  }

  test('an approval-gated shell is refused with one clear error naming agent, tier and tool', async () => {
    stack.model.setScript('gated-local', {
      steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: 'ls' } }] }, { message: 'never' }],
    });
    const agent = new SandboxAgent({
      name: 'gatedlocal',
      instructions: 'x',
      model: 'gated-local',
      capabilities: [shell({ needsApproval: { allow: [/^ls\b/] } })],
    });
    const { result } = await runOnBubblewrap(agent);
    assert.ok(result instanceof RunFailedError, String(result));
    assert.match(
      result.message,
      /agent 'gatedlocal': tool 'exec_command' needs approval, which the bubblewrap \(UnixLocalSandboxClient\) tier cannot enforce/,
    );
    assert.equal(stack.model.stats('gated-local').requests, 0, 'no turn ran');
  });

  test('a shell without approval (file tools gated) runs there', async () => {
    stack.model.setScript('free-local', {
      steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: 'id -u' } }] }, { message: 'done' }],
    });
    const agent = new SandboxAgent({
      name: 'freelocal',
      instructions: 'x',
      model: 'free-local',
      capabilities: [shell(), filesystem({ needsApproval: true })],
    });
    const { result, state } = await runOnBubblewrap(agent);
    assert.equal((result as { finalOutput?: unknown }).finalOutput, 'done', String(result));
    assert.match(toolResults(state)[0].output, /stdout:\n1000/);
  });
});
