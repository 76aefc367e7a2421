/**
 * Per-run workspaces (issue 21 A): one agent started with `startMany` on three repositories (private git servers
 * this file starts, cloned with a secret the agent lists in `runSecrets`) and on three files, each run proving
 * from inside its sandbox what it received and recording it (commit, sha256) in its state; a run started from
 * another run's snapshot; and hostile start requests, sent through Keel's client and past it with the raw
 * Temporal client, each refused at start with one typed error before any sandbox exists. Each startMany run's
 * work is read back with `keel diff` (its final snapshot against the workspace it began with).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { file, gitRepo, type ManifestEntry } from '../../src/agents/manifest.js';
import type { WorkspaceRequest, WorkspaceReceipt } from '../../src/agents/run-workspace.js';
import { secret } from '../../src/agents/secret.js';
import { RunFailedError, type KeelClient } from '../../src/client.js';
import { KeelError } from '../../src/errors.js';
import type { KeelWorker } from '../../src/worker.js';
import type { AgentRunInput } from '../../src/workflows/messages.js';
import { startPrivateGitServer, type PrivateGitServer } from '../helpers/git-http.js';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { scheduledActivities } from '../helpers/runs.js';
import { docker, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execStep as exec } from '../helpers/script-steps.js';

const TOKEN = `ghp_${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
/** The agent's work, so each run has a diff: a review naming what it was given, and a line added to its notes. */
const REVIEW =
  'echo "reviewed: $(cat input.txt repo/README.md 2>/dev/null | head -1)" > REVIEW.md; echo "(reviewed)" >> notes.md';
const SHOW =
  'for f in repo/README.md input.txt notes.md local/data.txt; do echo "== $f"; cat "$f" 2>/dev/null; done; echo "== head $(git -C repo rev-parse HEAD 2>/dev/null)"';

let stack: TestStack;
let repos: PrivateGitServer[];
let allowedRoot: string;
let worker: KeelWorker;
let client: KeelClient;
let queue: string;
let running: Promise<void> | undefined;

const agent = new SandboxAgent({
  name: 'reviewer',
  instructions: 'Show what you were given.',
  model: 'show-workspace',
  manifest: { entries: { 'notes.md': file('notes of the agent\n') } },
  capabilities: [shell()],
  runSecrets: ['GH_TOKEN'],
});

/** An agent without a sandbox: no workspace to give it. */
const plain = new Agent({ name: 'plain', instructions: 'x', model: 'show-workspace' });

before(async () => {
  stack = await startTestStack({ 'show-workspace': { steps: [exec(SHOW), exec(REVIEW), { message: 'done' }] } });
  repos = await Promise.all(
    [0, 1, 2].map((i) => startPrivateGitServer({ 'README.md': `repository number ${i}\n` }, 'x-access-token', TOKEN)),
  );
  allowedRoot = mkdtempSync(path.join(tmpdir(), 'keel-allowed-'));
  mkdirSync(path.join(allowedRoot, 'data'));
  writeFileSync(path.join(allowedRoot, 'data', 'data.txt'), 'from an allowed local dir\n');
  symlinkSync('/etc', path.join(allowedRoot, 'escape'));
  queue = queueFor('run-workspace');
  const secrets = { get: async (name: string) => (name === 'GH_TOKEN' || name === 'OTHER_TOKEN' ? TOKEN : undefined) };
  worker = await sandboxWorker(stack, [agent, plain], queue, { secrets, localDirs: [allowedRoot] });
  client = stack.client(queue);
  running = worker.run();
});
after(async () => {
  worker?.shutdown();
  await running;
  await Promise.all((repos ?? []).map((r) => r.close()));
  await stack?.close();
});

/** What the run's command printed, by file (`head` is the repository's checked-out commit). */
function shown(output: string): Record<string, string> {
  return Object.fromEntries(
    output
      .split('== ')
      .filter(Boolean)
      .map((part) => {
        const [name, ...rest] = part.split('\n');
        return name.startsWith('head ') ? ['head', name.slice(5).trim()] : [name.trim(), rest.join('\n').trim()];
      }),
  );
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const repoEntry = (i: number): ManifestEntry => gitRepo({ url: repos[i].url, auth: secret('GH_TOKEN') });

describe('per-run workspaces', { timeout: 300_000 }, () => {
  let firstRun = '';

  test('startMany: three repositories and three files, each run sees its own and pins it', async () => {
    const items = [
      ...[0, 1, 2].map((i) => ({ input: `repo ${i}`, workspace: { entries: { repo: repoEntry(i) } } })),
      ...[0, 1, 2].map((i) => ({
        input: `file ${i}`,
        workspace: { entries: { 'input.txt': file(`input number ${i}\n`), 'notes.md': file(`notes for item ${i}\n`) } },
      })),
    ];
    const job = await client.resultMany(await client.startMany(agent, items, { concurrency: 3, tenant: 'acme' }));
    assert.equal(job.completed, 6, JSON.stringify(job.items.map((i) => i.error)));
    for (const [index, item] of job.items.entries()) {
      const state = await client.getState(item.runId);
      const seen = shown(toolResults(state)[0].output);
      const receipt = state.workspace as WorkspaceReceipt;
      assert.equal(state.tenant, 'acme');
      assert.ok(receipt.startSnapshot, 'the workspace it began with is recorded');
      if (index < 3) {
        assert.equal(
          seen['repo/README.md'],
          `repository number ${index}`,
          'its own repository, cloned with the run secret',
        );
        assert.equal(seen['notes.md'], 'notes of the agent', "the agent's own entry is still there");
        const pinned = receipt.entries.find((e) => e.path === 'repo');
        assert.ok(
          pinned?.type === 'gitRepo' && pinned.commit === seen.head,
          'the resolved commit is pinned and checked out',
        );
        assert.equal(pinned.auth, 'GH_TOKEN', 'the secret is named, never its value');
      } else {
        const i = index - 3;
        assert.equal(seen['input.txt'], `input number ${i}`);
        assert.equal(seen['notes.md'], `notes for item ${i}`, "the run's entry replaces the agent's at the same path");
        assert.deepEqual(
          receipt.entries.find((e) => e.path === 'input.txt'),
          {
            path: 'input.txt',
            type: 'file',
            sha256: sha256(`input number ${i}\n`),
            bytes: `input number ${i}\n`.length,
          },
        );
      }
      assert.ok(!JSON.stringify(state).includes(TOKEN), 'no secret value in the state');
      // What the run did to the workspace it was given, read back by another process after its container is gone.
      const diff = await runCli(stack, queue, ['diff', item.runId], { KEEL_HOME: stack.dataDir });
      assert.equal(diff.code, 0, diff.stderr);
      const given = index < 3 ? `repository number ${index}` : `input number ${index - 3}`;
      assert.ok(diff.stdout.includes(`+reviewed: ${given}`) && diff.stdout.includes('+(reviewed)'), diff.stdout);
      assert.ok(!diff.stdout.includes('input number') || index >= 3, 'each diff is its own run against its own start');
    }
    firstRun = job.items[0].runId;
  });

  test('a run starts from a snapshot of a run of its tenant, with an allowed local directory over it', async () => {
    assert.ok(firstRun, 'needs the first test');
    const workspace: WorkspaceRequest = {
      fromSnapshot: firstRun,
      entries: { local: { type: 'localDir', path: path.join(allowedRoot, 'data') } },
    };
    const id = await client.startRun(agent, 'again', { workspace, tenant: 'acme' });
    await client.result(id);
    const state = await client.getState(id);
    const seen = shown(toolResults(state)[0].output);
    assert.equal(seen['repo/README.md'], 'repository number 0', "the source run's workspace came back");
    assert.equal(seen['local/data.txt'], 'from an allowed local dir');
    const receipt = state.workspace as WorkspaceReceipt;
    assert.equal(receipt.fromSnapshot?.runId, firstRun);
    assert.equal(receipt.fromSnapshot?.id, (await client.getState(firstRun)).sandbox?.lastSnapshot?.id);
  });

  test('keel run --repo/--file gives a run its workspace; keel state shows it; a refused one is one error line', async () => {
    const local = path.join(allowedRoot, 'brief.txt');
    writeFileSync(local, 'brief from a local file\n');
    const started = await runCli(stack, queue, [
      'run',
      'reviewer',
      'go',
      '--repo',
      `repo=${repos[1].url}#main`,
      '--repo-auth',
      'GH_TOKEN',
      '--file',
      `input.txt=@${local}`,
    ]);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    await client.result(id);
    const seen = shown(toolResults(await client.getState(id))[0].output);
    assert.equal(seen['repo/README.md'], 'repository number 1');
    assert.equal(seen['input.txt'], 'brief from a local file');
    const state = await runCli(stack, queue, ['state', id]);
    assert.match(
      state.stdout,
      new RegExp(`repo: ${repos[1].url.replace(/[.?]/g, '\\$&')}#main at ${seen.head} with secret GH_TOKEN`),
    );
    assert.match(state.stdout, new RegExp(`input.txt: file sha256:${sha256('brief from a local file\n')}`));
    const audit = await runCli(stack, queue, ['audit', id], { KEEL_HOME: stack.dataDir });
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /## Workspace received/);
    assert.ok(
      audit.stdout.includes(`repo: ${repos[1].url}#main at ${seen.head} with secret GH_TOKEN`),
      audit.stdout.slice(0, 2000),
    );
    const refused = await runCli(stack, queue, [
      'run',
      'reviewer',
      'go',
      '--repo',
      repos[1].url,
      '--repo-auth',
      'NOT_LISTED',
    ]);
    assertOneLineError(
      refused,
      1,
      /RunWorkspaceRefused: workspace refused: secret 'NOT_LISTED' is not one the agent lets runs name/,
    );
  });

  test('hostile start requests are refused at start, before any sandbox, through the client and past it', async () => {
    // The client refuses what it can judge alone.
    await assert.rejects(
      client.startRun(agent, 'x', {
        workspace: {
          entries: { repo: { type: 'gitRepo', url: repos[0].url.replace('//', `//x-access-token:${TOKEN}@`) } },
        },
      }),
      (err: unknown) => err instanceof KeelError && /credential in it; pass it as auth: secret/.test(err.message),
    );
    await assert.rejects(
      client.startRun(agent, 'x', { workspace: { entries: { '../../etc/x': file('x') } } }),
      /must stay inside \/workspace/,
    );

    // The run refuses the rest, and everything again when the raw Temporal client skips Keel's checks.
    const raw =
      (workspace: unknown, tenant?: string, name = 'reviewer') =>
      async () => {
        const workflowId = `${name}-raw-${Math.random().toString(36).slice(2)}`;
        const input = { agent: name, input: 'x', workspace, ...(tenant ? { tenant } : {}) } as AgentRunInput;
        await client.temporal.workflow.start('agentRun', { taskQueue: queue, workflowId, args: [input] });
        return workflowId;
      };
    const viaClient = (workspace: WorkspaceRequest, tenant?: string) => () =>
      client.startRun(agent, 'x', { workspace, tenant });
    const cases: [string, () => Promise<string>, RegExp, string][] = [
      [
        'a secret the agent does not list',
        viaClient({ entries: { repo: gitRepo({ url: repos[0].url, auth: secret('OTHER_TOKEN') }) } }),
        /secret 'OTHER_TOKEN' is not one the agent lets runs name/,
        'RunWorkspaceRefused',
      ],
      [
        'a URL with a credential (raw)',
        raw({ entries: { repo: { type: 'gitRepo', url: repos[0].url.replace('//', `//u:${TOKEN}@`) } } }),
        /credential in it; pass it as auth: secret/,
        'RunWorkspaceRefused',
      ],
      [
        'a path escaping /workspace (raw)',
        raw({ entries: { '../outside': { type: 'file', content: 'x' } } }),
        /must stay inside \/workspace/,
        'RunWorkspaceRefused',
      ],
      [
        'a worker path as a repository (raw)',
        raw({ entries: { repo: { type: 'gitRepo', url: '/etc' } } }),
        /must be https:\/\/, http:\/\/ or git:\/\//,
        'RunWorkspaceRefused',
      ],
      [
        'a local dir outside the allowed roots',
        viaClient({ entries: { etc: { type: 'localDir', path: '/etc' } } }),
        /outside the directories this worker allows/,
        'RunWorkspaceRefused',
      ],
      [
        'a symlink out of an allowed root',
        viaClient({ entries: { etc: { type: 'localDir', path: path.join(allowedRoot, 'escape') } } }),
        /outside the directories this worker allows/,
        'RunWorkspaceRefused',
      ],
      [
        "another tenant's snapshot",
        viaClient({ fromSnapshot: firstRun }, 'globex'),
        /belongs to another tenant/,
        'RunWorkspaceRefused',
      ],
      [
        "another tenant's snapshot (raw, no tenant)",
        raw({ fromSnapshot: `${firstRun}@1` }),
        /belongs to another tenant/,
        'RunWorkspaceRefused',
      ],
      [
        'an unknown snapshot',
        viaClient({ fromSnapshot: 'reviewer-no-such-run' }, 'acme'),
        /no run reviewer-no-such-run/,
        'RunWorkspaceUnavailable',
      ],
      [
        'a workspace for an agent without a sandbox (raw)',
        raw({ entries: { 'a.txt': { type: 'file', content: 'x' } } }, undefined, 'plain'),
        /agent 'plain' has no sandbox/,
        'RunWorkspaceRefused',
      ],
      [
        'a repository that cannot be cloned',
        viaClient({ entries: { repo: gitRepo({ url: 'http://127.0.0.1:9/none.git' }) } }),
        /repository http:\/\/127\.0\.0\.1:9\/none\.git cannot be had/,
        'RunWorkspaceUnavailable',
      ],
    ];
    {
      for (const [what, start, message, type] of cases) {
        const id = await start();
        const err = await client.result(id).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof RunFailedError, `${what}: the run failed`);
        assert.equal(err.type, type, `${what}: ${err.message}`);
        assert.match(err.message, message, what);
        assert.ok(
          !(await scheduledActivities(client, id)).includes('createSandbox'),
          `${what}: no sandbox was asked for`,
        );
        const containers = await docker.listContainers({
          all: true,
          filters: { label: [`${LABELS.workflowId}=${id}`] },
        });
        assert.equal(containers.length, 0, `${what}: no container exists`);
      }
    }
  });
});
