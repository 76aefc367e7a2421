/**
 * MCP servers inside the agent's sandbox (`mcpStdio({ inSandbox: true })`) end to end through a worker with real
 * Docker sandboxes: the agent's `spawn` op, the reference git server from PyPI (mcp-server-git) running as the
 * sandbox user, its tools listed once the sandbox exists and pinned in history, approvals, isolation from the
 * host, and a server that crashes mid-call (a tool error; the next call gets a fresh server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import { mcpStdio, type McpServer } from '../../src/agents/mcp.js';
import type { AgentSpec } from '../../src/agents/spec.js';
import type { KeelClient } from '../../src/client.js';
import type { Script } from '../../src/testing/script.js';
import { createSandbox } from '../helpers/sandbox-fixture.js';
import { crashInSandbox, gitInSandbox, gitOnWorker, serverEntries } from '../helpers/mcp-sandbox-servers.js';
import { activityResult, capturingOpenAI, waitFor, waitForStatus } from '../helpers/runs.js';
import { containerExists, removeBehindKeelsBack, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'k',
  GIT_AUTHOR_EMAIL: 'k@example.invalid',
  GIT_COMMITTER_NAME: 'k',
  GIT_COMMITTER_EMAIL: 'k@example.invalid',
};

function sandboxAgent(name: string, servers: McpServer[], files: 'git' | 'crash' = 'git'): SandboxAgent {
  return new SandboxAgent({
    name,
    instructions: 'x',
    model: name,
    approvers: ['ann'],
    maxTurns: 8,
    capabilities: [shell()],
    manifest: { entries: { ...serverEntries(files), 'repo/hello.txt': file('hello\n') }, env: GIT_ENV },
    mcpServers: servers,
  });
}

async function run(
  name: string,
  agent: Agent,
  script: Script,
  during?: (client: KeelClient, id: string) => Promise<void>,
) {
  stack.model.setScript(agent.options.model as string, script);
  const queue = queueFor(name);
  const capture = capturingOpenAI(stack.model.baseURL);
  const worker = await sandboxWorker(stack, [agent], queue, { openai: capture.openai });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await during?.(client, id);
    const result = await client.result(id).catch((err: unknown) => err);
    const state = await client.getState(id);
    const resolved = await activityResult<AgentSpec>(client, id, 'resolveAgent');
    const pinned = await activityResult<AgentSpec>(client, id, 'pinSandboxMcpTools');
    return {
      id,
      result,
      state,
      requests: capture.requests,
      resolved: resolved!,
      pinned,
      outputs: toolResults(state).map((t) => t.output),
    };
  });
}

const INIT_REPO = 'cd repo && git init -q && git add . && git commit -qm "first commit" && echo inited';

describe('MCP servers inside the sandbox', () => {
  test('spawn: a long-lived process with streamed stdin/stdout, bounded stderr, ended by stdin EOF or kill', async () => {
    const sandbox = await createSandbox('mcp-spawn');
    try {
      let out = '';
      const cat = await sandbox.spawn({ argv: ['cat'], onStdout: (c) => (out += c.toString()) });
      await cat.write(Buffer.from('hello\n'));
      await cat.write(Buffer.alloc(3 * 1024 * 1024, 'x')); // past the agent's window: flow control both ways
      cat.closeStdin();
      const exit = await cat.exited;
      assert.equal(exit.exitCode, 0);
      assert.equal(out.length, 6 + 3 * 1024 * 1024);
      assert.ok(out.startsWith('hello\nxxx'));

      let live = '';
      const noisy = await sandbox.spawn({
        cmd: 'id -u >&2; head -c 300000 /dev/zero | tr "\\0" e >&2; sleep 600',
        stderrBytes: 1000,
        onStdout: () => undefined,
        onStderr: (c) => (live += c.toString()),
      });
      await waitFor('stderr to pass the live budget', () => live.length >= 64 * 1024, 60_000);
      await noisy.kill();
      const killed = await noisy.exited;
      assert.equal(killed.killed, true);
      assert.ok(killed.stderr.length < 1200, `stderr bounded (${killed.stderr.length})`);
      assert.match(killed.stderr, /^1000\n/, 'runs as the sandbox user');
      assert.equal(live.length, 64 * 1024, 'only the first 64 KiB of stderr is streamed live');

      await assert.rejects(
        sandbox.spawn({ argv: ['no-such-program'], onStdout: () => undefined }).then((p) => p.exited),
        /not found/,
      );
    } finally {
      await sandbox.remove();
    }
  });

  test('the reference git server runs in the sandbox: tools listed after creation and pinned, calls answered, host unreachable', async () => {
    const hostRepo = mkdtempSync(path.join(tmpdir(), 'keel-host-repo-'));
    writeFileSync(path.join(hostRepo, 'secret.txt'), 'host only\n');
    execFileSync('git', ['init', '-q'], { cwd: hostRepo });
    execFileSync('git', ['add', '.'], { cwd: hostRepo });
    execFileSync(
      'git',
      ['-c', 'user.name=h', '-c', 'user.email=h@example.invalid', 'commit', '-qm', 'HOST SECRET COMMIT'],
      { cwd: hostRepo },
    );
    const agent = sandboxAgent('mcp-sb-git', [
      gitInSandbox('git', { toolFilter: { allow: ['git_status', 'git_log'] } }),
    ]);
    const r = await run('mcp-sb-git', agent, {
      steps: [
        { toolCalls: [{ name: 'exec_command', arguments: { cmd: INIT_REPO } }] },
        {
          toolCalls: [
            { name: 'git_log', arguments: { repo_path: '/workspace/repo' } },
            { name: 'git_status', arguments: { repo_path: '/workspace/repo' } },
          ],
        },
        { toolCalls: [{ name: 'git_log', arguments: { repo_path: hostRepo } }] },
        {
          toolCalls: [
            {
              name: 'exec_command',
              arguments: {
                cmd: 'ps -eo uid,args | grep "[m]cp_server_git"; echo NET; tail -n +3 /proc/$(pgrep -u 1000 -x python3 | head -1)/net/dev | cut -d: -f1',
              },
            },
          ],
        },
        { message: 'done' },
      ],
    });
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.equal(r.state.status, 'completed');
    assert.match(r.outputs[0], /inited/);
    assert.match(r.outputs[1], /first commit/);
    assert.match(r.outputs[2], /nothing to commit|working tree clean/);
    assert.equal(toolResults(r.state)[3].isError, true, r.outputs[3]);
    assert.doesNotMatch(r.outputs[3], /HOST SECRET/, 'the server in the sandbox cannot read the host repository');
    assert.match(r.outputs[4], /^\s*1000 .*python3 -m mcp_server_git/m, 'the server runs in the sandbox as its user');
    assert.deepEqual(
      r.outputs[4].split('NET\n')[1].trim().split(/\s+/),
      ['lo'],
      'the server has no network but loopback (the sandbox has none)',
    );
    // Not at resolution: the spec names the server; its tools were listed and pinned once the sandbox existed.
    assert.deepEqual(r.resolved.sandboxMcpServers, ['git']);
    assert.equal(r.resolved.tools.filter((t) => t.kind === 'mcp').length, 0);
    const pinned = r.pinned!.tools.filter((t) => t.kind === 'mcp');
    assert.deepEqual(
      pinned.map((t) => [t.name, t.mcp?.server, t.mcp?.inSandbox]),
      [
        ['git_status', 'git', true],
        ['git_log', 'git', true],
      ],
    );
    for (const t of pinned) assert.match(t.mcp!.hash, /^sha256:[0-9a-f]{16}$/);
    assert.notEqual(r.pinned!.ref, r.resolved.ref, 're-pinned');
    const sent = (r.requests[0].tools as { name: string }[]).map((t) => t.name);
    assert.ok(sent.includes('git_log') && sent.includes('exec_command'), sent.join(','));
    assert.equal(await containerExists(r.state.sandbox!.containerId), false, 'the sandbox and its server are gone');

    // The same server on the worker reads the host repository: only the sandbox kept it out.
    const onWorker = new Agent({
      name: 'mcp-wk-git',
      instructions: 'x',
      model: 'mcp-wk-git',
      mcpServers: [gitOnWorker('git', { toolFilter: { allow: ['git_log'] } })],
    });
    const w = await run('mcp-wk-git', onWorker, {
      steps: [{ toolCalls: [{ name: 'git_log', arguments: { repo_path: hostRepo } }] }, { message: 'done' }],
    });
    assert.match(w.outputs[0], /HOST SECRET COMMIT/);
  });

  test('an approval-gated tool waits for the decision; a sandbox lost meanwhile is restored and its server started anew', async () => {
    const git = gitInSandbox('git', {
      toolFilter: { allow: ['git_add', 'git_commit', 'git_log'] },
      needsApproval: (args) => 'message' in args,
    });
    const agent = sandboxAgent('mcp-sb-approve', [git]);
    let lost = '';
    const r = await run(
      'mcp-sb-approve',
      agent,
      {
        steps: [
          { toolCalls: [{ name: 'exec_command', arguments: { cmd: `${INIT_REPO} && echo more > b.txt` } }] },
          {
            toolCalls: [
              { name: 'git_add', arguments: { repo_path: '/workspace/repo', files: ['b.txt'] } },
              { name: 'git_commit', arguments: { repo_path: '/workspace/repo', message: 'second commit' } },
            ],
          },
          { toolCalls: [{ name: 'git_log', arguments: { repo_path: '/workspace/repo' } }] },
          { message: 'done' },
        ],
      },
      async (client, id) => {
        const waiting = await waitForStatus(client, id, 'awaiting_approval', 120_000);
        assert.deepEqual(
          waiting.pendingApprovals.map((p) => p.tool),
          ['git_commit'],
        );
        // The wait's snapshot holds the staged file; then the container (and the server in it) goes away.
        const snapshotted = await waitFor(
          'the approval-wait snapshot',
          async () => {
            const state = await client.getState(id);
            return state.snapshots.some((sn) => sn.turn === 2) && state;
          },
          60_000,
        );
        lost = snapshotted.sandbox!.containerId;
        await removeBehindKeelsBack(lost);
        await client.approve(id, 'call_1_1', { by: 'ann' });
      },
    );
    assert.ok(!(r.result instanceof Error), String(r.result));
    const decisions = r.state.items.filter((i) => i.type === 'approval');
    assert.deepEqual(
      decisions.map((d) => [d.callId, d.decision]),
      [['call_1_1', 'approve']],
    );
    assert.match(r.outputs[1], /b\.txt|staged/i);
    assert.match(
      r.outputs[2],
      /The sandbox container was lost; the workspace was restored from the snapshot of turn 2/,
    );
    assert.match(r.outputs[2], /Changes committed/i);
    assert.notEqual(r.state.sandbox!.containerId, lost, 'the run moved to the restored container');
    assert.match(r.outputs[3], /second commit[\s\S]*first commit/);
  });

  test('a server that crashes mid-call is a tool error; the next call gets a fresh server and the run goes on', async () => {
    const agent = sandboxAgent('mcp-sb-crash', [crashInSandbox('crashy')], 'crash');
    const r = await run('mcp-sb-crash', agent, {
      steps: [
        { toolCalls: [{ name: 'crash', arguments: {} }] },
        { toolCalls: [{ name: 'ok', arguments: {} }] },
        { message: 'carried on' },
      ],
    });
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.equal(r.state.status, 'completed');
    const [crashed, answered] = toolResults(r.state);
    assert.equal(crashed.isError, true);
    assert.match(
      crashed.output,
      /^Error: MCP server 'crashy' failed on crash: .*boom: the crash tool was called \(pid \d+, uid 1000\)/s,
    );
    assert.match(crashed.output, /exited with code 3/);
    assert.equal(answered.isError, false);
    assert.match(answered.output, /^fine from pid \d+$/);
  });

  test('a server that cannot start fails the run with its reason once the sandbox exists, and the sandbox is removed', async () => {
    const agent = sandboxAgent(
      'mcp-sb-broken',
      [mcpStdio({ name: 'git', command: 'no-such-python', args: ['-m', 'mcp_server_git'], inSandbox: true })],
      'crash',
    );
    const r = await run('mcp-sb-broken', agent, { steps: [{ message: 'never' }] });
    assert.ok(r.result instanceof Error);
    assert.equal(r.state.status, 'failed');
    assert.equal(r.state.error?.type, 'McpServerUnavailable');
    assert.match(r.state.error!.message, /could not connect to MCP server 'git'.*no-such-python/s);
    assert.equal(r.requests.length, 0, 'the model was never called');
    assert.equal(await containerExists(r.state.sandbox!.containerId), false);
  });
});
