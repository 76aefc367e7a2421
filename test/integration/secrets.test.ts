/**
 * Secrets never reach the permanent record (issue 10): a sandbox run whose env and private repository use
 * `secret()` references really gets the values (the command sees the token, the clone authenticates), and then the
 * whole event history, the RunState and every file the stack stored (blobs, snapshots) are searched for the
 * secrets' bytes, which appear nowhere. The agent even writes a secret into the workspace: the snapshot masks it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { gitRepo } from '../../src/agents/manifest.js';
import { secret } from '../../src/agents/secret.js';
import { encodedHistories, secretSightings } from '../helpers/history.js';
import { startPrivateGitServer, type PrivateGitServer } from '../helpers/git-http.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const API_TOKEN = `api-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
const GIT_TOKEN = `ghp_${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;

let stack: TestStack;
let git: PrivateGitServer;
before(async () => {
  stack = await startTestStack();
  git = await startPrivateGitServer({ 'README.md': 'from the private repo\n' }, 'x-access-token', GIT_TOKEN);
});
after(async () => {
  await git?.close();
  await stack?.close();
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

const CMD = [
  'printf %s "$API_TOKEN" | sha256sum',
  'echo "raw:$API_TOKEN"',
  'cat repo/README.md',
  'echo "auth lines in .git/config: $(grep -ci -e authorization -e x-access-token -e @ repo/.git/config)"',
  'git -C repo config --get remote.origin.url',
  'printf %s "$API_TOKEN" > leaked.txt',
].join('; ');

test('secret values are used by the sandbox but appear nowhere in history, state, blobs or snapshots', async () => {
  stack.model.setScript('secret-run', { steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: CMD } }] }, { message: 'done' }] });
  const agent = new SandboxAgent({
    name: 'secretuser',
    instructions: 'Use the token.',
    model: 'secret-run',
    manifest: { entries: { repo: gitRepo({ url: git.url, auth: secret('KEEL_TEST_GIT_TOKEN') }) }, env: { API_TOKEN: secret('KEEL_TEST_API_TOKEN') } },
    capabilities: [filesystem(), shell()],
  });
  const secrets = { get: async (name: string) => ({ KEEL_TEST_API_TOKEN: API_TOKEN, KEEL_TEST_GIT_TOKEN: GIT_TOKEN })[name] };
  const queue = queueFor('secrets');
  const worker = await sandboxWorker(stack, [agent], queue, { secrets });
  const client = stack.client(queue);
  const { id, state } = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await client.result(id);
    return { id, state: await client.getState(id) };
  });

  assert.equal(state.status, 'completed');
  const out = toolResults(state)[0].output;
  assert.match(out, new RegExp(createHash('sha256').update(API_TOKEN).digest('hex')), 'the command saw the secret');
  assert.match(out, /raw:\[secret KEEL_TEST_API_TOKEN\]/, 'echoing it shows only the reference');
  assert.match(out, /from the private repo/, 'the private clone authenticated');
  assert.match(out, /auth lines in \.git\/config: 0/);
  assert.ok(out.includes(git.url), 'the remote is the bare URL');
  assert.ok(state.sandbox?.lastSnapshot, 'the workspace was snapshotted');

  const histories = await encodedHistories(client.temporal, id);
  const haystacks: [string, Buffer][] = [
    ...histories.map((b, i): [string, Buffer] => [`history ${i}`, b]),
    ['run state', Buffer.from(JSON.stringify(state))],
    ...filesUnder(stack.dataDir).map((f): [string, Buffer] => [f, readFileSync(f)]),
  ];
  assert.ok(histories[0].length > 1000 && haystacks.some(([f]) => f.includes('snapshots')), 'history and snapshot were searched');
  assert.deepEqual(secretSightings([API_TOKEN, GIT_TOKEN], haystacks), [], "a secret's bytes were found");
});
