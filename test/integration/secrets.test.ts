/**
 * Secrets never reach the permanent record (issue 10): a sandbox run whose env and private repository use
 * `secret()` references really gets the values (the command sees the token, the clone authenticates), and then the
 * whole event history, the RunState and every file the stack stored (blobs, snapshots) are searched for the
 * secrets' bytes, which appear nowhere. The agent even writes a secret into the workspace: the snapshot masks it.
 * Worker-side tools (issue 18): a short and a long function-tool output and an MCP tool output carrying a secret are
 * scrubbed before they are kept, the long one before its whole text goes to the blob store, and so is a tool-output
 * guardrail's info that quotes the output.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { gitRepo } from '../../src/agents/manifest.js';
import { secret } from '../../src/agents/secret.js';
import { tool } from '../../src/agents/tool.js';
import type { KeelClient } from '../../src/client.js';
import type { KeelWorker } from '../../src/worker.js';
import type { RunState } from '../../src/workflows/run-state.js';
import { encodedHistories, secretSightings } from '../helpers/history.js';
import { everythingStdio } from '../helpers/mcp-servers.js';
import { startPrivateGitServer, type PrivateGitServer } from '../helpers/git-http.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const API_TOKEN = `api-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
const GIT_TOKEN = `ghp_${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
const TOOL_TOKEN = `tool-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;

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

/** Runs `agent` on `worker` until it ends: the client, the run's id and its final RunState. */
async function runToEnd(worker: KeelWorker, queue: string, agent: Agent) {
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await client.result(id);
    return { client, id, state: await client.getState(id) };
  });
}

/** Run `id`'s whole exported history, its RunState and every file the stack stored (blobs, snapshots), by name. */
async function everythingKept(client: KeelClient, id: string, state: RunState): Promise<[string, Buffer][]> {
  const histories = await encodedHistories(client.temporal, id);
  assert.ok(histories[0].length > 1000, 'the history was exported');
  return [
    ...histories.map((b, i): [string, Buffer] => [`history ${i}`, b]),
    ['run state', Buffer.from(JSON.stringify(state))],
    ...filesUnder(stack.dataDir).map((f): [string, Buffer] => [f, readFileSync(f)]),
  ];
}

const CMD = [
  'printf %s "$API_TOKEN" | sha256sum',
  'echo "raw:$API_TOKEN"',
  'cat repo/README.md',
  'echo "auth lines in .git/config: $(grep -ci -e authorization -e x-access-token -e @ repo/.git/config)"',
  'git -C repo config --get remote.origin.url',
  'printf %s "$API_TOKEN" > leaked.txt',
].join('; ');

test(
  'secret values are used by the sandbox but appear nowhere in history, state, blobs or snapshots',
  { timeout: 240_000 },
  async () => {
    stack.model.setScript('secret-run', {
      steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: CMD } }] }, { message: 'done' }],
    });
    const agent = new SandboxAgent({
      name: 'secretuser',
      instructions: 'Use the token.',
      model: 'secret-run',
      manifest: {
        entries: { repo: gitRepo({ url: git.url, auth: secret('KEEL_TEST_GIT_TOKEN') }) },
        env: { API_TOKEN: secret('KEEL_TEST_API_TOKEN') },
      },
      capabilities: [filesystem(), shell()],
    });
    const secrets = {
      get: async (name: string) => ({ KEEL_TEST_API_TOKEN: API_TOKEN, KEEL_TEST_GIT_TOKEN: GIT_TOKEN })[name],
    };
    const queue = queueFor('secrets');
    const { client, id, state } = await runToEnd(await sandboxWorker(stack, [agent], queue, { secrets }), queue, agent);

    assert.equal(state.status, 'completed');
    const out = toolResults(state)[0].output;
    assert.match(out, new RegExp(createHash('sha256').update(API_TOKEN).digest('hex')), 'the command saw the secret');
    assert.match(out, /raw:\[secret KEEL_TEST_API_TOKEN\]/, 'echoing it shows only the reference');
    assert.match(out, /from the private repo/, 'the private clone authenticated');
    assert.match(out, /auth lines in \.git\/config: 0/);
    assert.ok(out.includes(git.url), 'the remote is the bare URL');
    assert.ok(state.sandbox?.lastSnapshot, 'the workspace was snapshotted');

    const haystacks = await everythingKept(client, id, state);
    assert.ok(
      haystacks.some(([f]) => f.includes('snapshots')),
      'the snapshot was searched',
    );
    assert.deepEqual(secretSightings([API_TOKEN, GIT_TOKEN], haystacks), [], "a secret's bytes were found");
  },
);

/** 40 KiB: over the 32 KiB cap, so the middle (where one copy of the secret is) lives only in the blob store. */
const longOutput = () => `head ${TOOL_TOKEN} ${'a'.repeat(20_000)} middle ${TOOL_TOKEN} ${'b'.repeat(20_000)} tail`;

test(
  'short and long function-tool outputs and an MCP output are scrubbed before history, state or the blob store',
  { timeout: 180_000 },
  async () => {
    stack.model.setScript('tool-leak', {
      steps: [
        {
          toolCalls: [
            { name: 'short_leak', arguments: {} },
            { name: 'long_leak', arguments: {} },
            { name: 'get-env', arguments: {} },
          ],
        },
        { message: 'done' },
      ],
    });
    // A guardrail that quotes the output in its info, as a "look for secrets" check might: its item is kept too.
    const quote = {
      name: 'quote',
      execute: ({ output }: { output?: string }) => ({ tripwire: false, info: { seen: output } }),
    };
    const leak = (name: string, output: () => string) =>
      tool({
        name,
        description: 'x',
        parameters: z.object({}),
        execute: async () => output(),
        outputGuardrails: [quote],
      });
    const agent = new Agent({
      name: 'toolleak',
      instructions: 'x',
      model: 'tool-leak',
      tools: [leak('short_leak', () => `token=${TOOL_TOKEN}`), leak('long_leak', longOutput)],
      // The MCP server gets the secret in its environment; its get-env tool prints that environment back.
      mcpServers: [
        everythingStdio('env', { env: { LEAKED: secret('KEEL_TEST_TOOL_TOKEN') }, toolFilter: { allow: ['get-env'] } }),
      ],
    });
    const queue = queueFor('tool-leak');
    const worker = await stack.worker([agent], queue, {
      secrets: { get: async (name) => (name === 'KEEL_TEST_TOOL_TOKEN' ? TOOL_TOKEN : undefined) },
    });
    const { client, id, state } = await runToEnd(worker, queue, agent);

    assert.equal(state.status, 'completed');
    const [short, long, env] = toolResults(state);
    assert.equal(short.output, 'token=[secret KEEL_TEST_TOOL_TOKEN]', 'a short output (kept inline) is scrubbed');
    const quoted = state.items.find((i) => i.type === 'guardrail' && i.name === 'quote' && i.callId === short.callId);
    assert.deepEqual(
      quoted && 'info' in quoted && quoted.info,
      { seen: 'token=[secret KEEL_TEST_TOOL_TOKEN]' },
      "the guardrail's info is scrubbed",
    );
    assert.match(long.output, /^head \[secret KEEL_TEST_TOOL_TOKEN\] a+/, 'a long output is scrubbed and cut');
    assert.match(
      env.output,
      /"LEAKED":\s*"\[secret KEEL_TEST_TOOL_TOKEN\]"/,
      'the MCP server saw the secret; its output is scrubbed',
    );
    const haystacks = await everythingKept(client, id, state);
    const blobs = haystacks.filter(([f]) => f.includes(`${path.sep}blobs${path.sep}`));
    assert.ok(
      blobs.some(([, b]) => b.includes(`middle [secret KEEL_TEST_TOOL_TOKEN] ${'b'.repeat(100)}`)),
      'the whole long output was stored, scrubbed',
    );
    assert.deepEqual(secretSightings([TOOL_TOKEN], haystacks), [], "the secret's bytes were found");
  },
);
