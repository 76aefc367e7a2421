/**
 * The built-in sandbox tools' table (src/tools/sandbox/): each definition's schema, handler (against a fake
 * sandbox), changesWorkspace, brief, `keel watch` line and audit effect, and every consumer reading it — the
 * AgentSpec stays what it was, the capabilities list and gate the table's tools, tier limits count the tools that
 * run commands, and the activity's `changed` is what the run's sandbox router counts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import type { ToolSpec } from '../../src/agents/spec.js';
import { refuseGatedCommands } from '../../src/agents/tier-limits.js';
import type { McpConnections } from '../../src/activities/mcp-connections.js';
import { sandboxActivities } from '../../src/activities/sandbox.js';
import { SecretVault } from '../../src/activities/secrets.js';
import type { RunToolResult } from '../../src/activities/types.js';
import { deriveCommands, deriveFileChanges } from '../../src/audit/tool-effects.js';
import type { ToolCallRecord } from '../../src/audit/document.js';
import { describeCall } from '../../src/cli/render.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import type { SandboxClient } from '../../src/sandbox/types.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import {
  SANDBOX_TOOLS,
  sandboxToolNamed,
  type BuiltinToolContext,
  type SandboxToolName,
} from '../../src/tools/sandbox/index.js';
import { changesWorkspace } from '../../src/workflows/sandbox-router.js';
import { briefArguments } from '../../src/workflows/summaries.js';
import { inActivity } from '../helpers/activity-context.js';
import { fakeSandbox } from '../helpers/fake-sandbox.js';

const dir = mkdtempSync(path.join(tmpdir(), 'keel-sandbox-tools-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
const PATCH = '*** Begin Patch\n*** Update File: a.py\n@@\n-x = 1\n+x = 2\n*** Add File: b.py\n+y = 1\n*** End Patch';
const blobs = new LocalBlobStore(path.join(dir, 'blobs'));

/** One call of each built-in, with valid arguments. */
const SAMPLES: Record<SandboxToolName, Record<string, unknown>> = {
  exec_command: { cmd: 'ls -la', workdir: 'repo' },
  read_file: { path: 'a.py' },
  write_file: { path: 'c.txt', content: 'hello\n' },
  list_dir: { path: '.' },
  apply_patch: { patch: PATCH },
  view_image: { path: 'pic.png' },
};

function context(files: Map<string, string | Buffer>, ran: string[]): BuiltinToolContext {
  return {
    sandbox: fakeSandbox('c1', files, ran),
    workflowId: 'wf',
    callId: 'call-1',
    blobs,
    maxToolOutputBytes: 10_000,
    heartbeat: () => undefined,
    signal: new AbortController().signal,
  };
}

/** Runs a built-in's handler on its validated arguments, as the activity does. */
async function run(
  name: SandboxToolName,
  args: Record<string, unknown>,
  files: Map<string, string | Buffer>,
  ran: string[] = [],
) {
  const tool = sandboxToolNamed(name)!;
  const out = await tool.run(tool.parameters.parse(args), context(files, ran));
  return { out, changed: tool.changesWorkspace(out) };
}

describe('built-in sandbox tools: one definition each, read by every consumer', { timeout: 60_000 }, () => {
  test('the AgentSpec of filesystem() + shell() is what it was: descriptions, schemas, approvals, timeouts, version', async () => {
    const agent = new SandboxAgent({
      name: 'golden',
      instructions: 'Work.',
      capabilities: [filesystem({ needsApproval: true }), shell({ needsApproval: { allow: [/^ls\b/] } })],
      sandbox: { commandTimeoutMs: 30_000 },
    });
    const spec = await new AgentRegistry([agent]).resolve('golden', {
      agent: 'golden',
      workflowId: 'wf',
      context: undefined,
    });
    // Recorded from the code before the table existed (src/agents/sandbox-tools.ts and the name checks).
    const before = JSON.parse(
      readFileSync(new URL('../fixtures/sandbox-tools-spec.json', import.meta.url), 'utf8'),
    ) as object;
    assert.deepEqual(
      JSON.parse(JSON.stringify({ version: spec.version, instructions: spec.instructions, tools: spec.tools })),
      before,
    );
  });

  test("the capabilities offer the table's tools and gate the ones that write, by their approval field", () => {
    assert.deepEqual(shell().sandboxTools, ['exec_command']);
    assert.deepEqual(filesystem().sandboxTools, ['read_file', 'write_file', 'list_dir', 'apply_patch', 'view_image']);
    const allow = [/^ls\b/];
    assert.deepEqual(shell({ needsApproval: { allow } }).approvals, {
      exec_command: { field: 'cmd', shell: true, allow },
    });
    assert.deepEqual(shell({ needsApproval: { allow, field: 'workdir' } }).approvals, {
      exec_command: { field: 'workdir', shell: true, allow },
    });
    assert.deepEqual(filesystem({ needsApproval: true }).approvals, { write_file: true, apply_patch: true });
    assert.deepEqual(filesystem({ needsApproval: { allow } }).approvals, {
      write_file: { allow },
      apply_patch: { allow },
    });
    assert.deepEqual([shell().approvals, filesystem().approvals], [{}, {}]);
  });

  test('schemas refuse what the model must fix (and list_dir defaults to the workspace)', () => {
    const bad: Record<SandboxToolName, unknown> = {
      exec_command: { cmd: '', timeout_ms: 3_600_001 },
      read_file: { path: '' },
      write_file: { path: 'x' },
      list_dir: { path: 3 },
      apply_patch: { patch: '' },
      view_image: {},
    };
    for (const [name, tool] of Object.entries(SANDBOX_TOOLS)) {
      assert.equal(tool.name, name, "the table is keyed by each tool's own name");
      assert.equal(tool.parameters.safeParse(SAMPLES[name as SandboxToolName]).success, true, name);
      assert.equal(tool.parameters.safeParse(bad[name as SandboxToolName]).success, false, name);
    }
    assert.deepEqual(SANDBOX_TOOLS.list_dir.parameters.parse({}), { path: '.' });
  });

  test('each handler against a fake sandbox: the text the model reads, and whether the workspace changed', async () => {
    const files = new Map<string, string | Buffer>([
      ['a.py', 'x = 1\n'],
      ['pic.png', PNG],
      ['notes.txt', 'not an image'],
    ]);
    const ran: string[] = [];
    const exec = await run('exec_command', SAMPLES.exec_command, files, ran);
    assert.deepEqual(exec, {
      out: { output: 'exit code: 0\nstdout:\nran: ls -la\n', isError: false, executed: true },
      changed: true,
    });
    assert.deepEqual(ran, ['ls -la']);
    assert.deepEqual(await run('read_file', SAMPLES.read_file, files), { out: { output: 'x = 1\n' }, changed: false });
    assert.deepEqual(await run('write_file', SAMPLES.write_file, files), {
      out: { output: 'wrote 6 bytes to c.txt' },
      changed: true,
    });
    assert.equal(files.get('c.txt'), 'hello\n');
    const listing = await run('list_dir', {}, files);
    assert.equal(listing.out.output.split('\n')[0], '-         6 a.py');
    assert.equal(listing.changed, false);
    assert.deepEqual(await run('apply_patch', SAMPLES.apply_patch, files), {
      out: { output: 'patch applied:\nA b.py\nM a.py' },
      changed: true,
    });
    assert.deepEqual([files.get('a.py'), files.get('b.py')], ['x = 2\n', 'y = 1\n']);
    const refused = await run(
      'apply_patch',
      { patch: '*** Begin Patch\n*** Delete File: gone.py\n*** End Patch' },
      files,
    );
    assert.equal(refused.out.isError, true);
    assert.match(refused.out.output, /^Error: the patch was not applied \(nothing changed\): /);
    assert.equal(refused.changed, false, 'a refused patch changed nothing');
    const image = await run('view_image', SAMPLES.view_image, files);
    assert.equal(image.out.output, `image pic.png (image/png, ${PNG.length} bytes)`);
    assert.equal(image.out.image?.mediaType, 'image/png');
    assert.deepEqual(await blobs.get(image.out.image!.blob), PNG);
    const notImage = await run('view_image', { path: 'notes.txt' }, files);
    assert.deepEqual(notImage, {
      out: { output: 'Error: notes.txt is not a PNG, JPEG, GIF or WebP image.', isError: true },
      changed: false,
    });
  });

  test("each built-in's brief is what the workflow's summaries show (they go by the arguments' shape)", () => {
    const expected: Record<SandboxToolName, string> = {
      exec_command: 'ls -la',
      read_file: 'a.py',
      write_file: 'c.txt',
      list_dir: '.',
      apply_patch: 'U a.py, A b.py',
      view_image: 'pic.png',
    };
    for (const [name, tool] of Object.entries(SANDBOX_TOOLS)) {
      const args = SAMPLES[name as SandboxToolName];
      assert.equal(tool.brief(args), expected[name as SandboxToolName], name);
      assert.equal(briefArguments(JSON.stringify(args)), tool.brief(args), `${name}: the summary agrees`);
    }
  });

  test('keel watch shows a command as its command line and other built-ins by their brief', () => {
    assert.equal(describeCall('exec_command', JSON.stringify({ cmd: 'make test' })), '$ make test');
    assert.equal(describeCall('apply_patch', JSON.stringify({ patch: PATCH })), 'apply_patch U a.py, A b.py');
    assert.equal(describeCall('write_file', JSON.stringify({ path: 'c.txt', content: 'x' })), 'write_file c.txt');
    assert.equal(describeCall('list_dir', '{}'), 'list_dir {}');
    assert.equal(describeCall('lookup', JSON.stringify({ path: 'p' })), 'lookup p', 'other tools: as before');
  });

  test('the audit: commands and file changes from each built-in’s effect', () => {
    const call = (callId: string, tool: string, args: unknown, output?: string, isError = false): ToolCallRecord =>
      ({ callId, tool, arguments: JSON.stringify(args), output, isError }) as ToolCallRecord;
    const calls = [
      call('1', 'exec_command', { cmd: 'make', workdir: 'repo' }, 'exit code: 2\nstderr:\nboom'),
      call('2', 'read_file', { path: 'a.py' }, 'x = 1\n'),
      call('3', 'write_file', { path: 'a.py', content: 'x = 2\n' }, 'wrote 6 bytes to a.py'),
      call('4', 'apply_patch', { patch: PATCH }, 'patch applied:\nA b.py\nM a.py'),
      call('5', 'write_file', { path: 'a.py', content: 'x = 3\n' }),
      call('6', 'exec_command', { cmd: 42 }, 'exit code: 0'),
      call('7', 'deploy', { cmd: 'not a sandbox command' }, 'ok'),
    ];
    assert.deepEqual(deriveCommands(calls), [
      { callId: '1', cmd: 'make', workdir: 'repo', exitCode: 2, output: 'exit code: 2\nstderr:\nboom' },
    ]);
    const changes = deriveFileChanges(calls);
    assert.deepEqual(
      changes.map((c) => [c.callId, c.tool, c.paths, c.applied]),
      [
        ['3', 'write_file', ['a.py'], true],
        ['4', 'apply_patch', ['a.py', 'b.py'], true],
        ['5', 'write_file', ['a.py'], false],
      ],
    );
    assert.equal(
      changes[0].diff,
      '--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,1 @@\n-x = 1\n+x = 2',
      'diffed against what the run read',
    );
    assert.equal(changes[1].diff, PATCH);
    assert.match(changes[2].diff, /previous content not recorded/, 'after a patch the content is unknown');
  });

  test('tier limits: only the built-ins that run commands (and capability tools) count as gated commands', () => {
    const spec = (name: string): ToolSpec => ({ name, kind: 'sandbox', approval: { mode: 'always' } }) as ToolSpec;
    const agent = new SandboxAgent({ name: 'gated', instructions: 'x' });
    assert.doesNotThrow(() =>
      refuseGatedCommands(agent, ['write_file', 'apply_patch', 'read_file'].map(spec), 'local'),
    );
    assert.throws(
      () => refuseGatedCommands(agent, ['exec_command', 'write_file', 'load_skill'].map(spec), 'local'),
      (err: Error) => {
        assert.match(err.message, /tool 'exec_command', tool 'load_skill' needs approval/);
        return true;
      },
    );
  });

  test("the activity says whether a built-in changed the workspace; the run's router counts that", async () => {
    const files = new Map<string, string | Buffer>([['a.py', 'x = 1\n']]);
    const sandboxes: SandboxClient = {
      create: async () => assert.fail('no new container'),
      attach: async (id) => fakeSandbox(id, files, []),
      reapOrphans: async () => [],
    };
    const agent = new SandboxAgent({ name: 'a', instructions: 'x', capabilities: [filesystem(), shell()] });
    const activities = sandboxActivities({
      registry: new AgentRegistry([agent]),
      mcp: { closeSandbox: async () => undefined } as unknown as McpConnections,
      sandboxes,
      snapshots: new LocalSnapshotStore(path.join(dir, 'snapshots')),
      memory: new LocalMemoryStore(path.join(dir, 'memory')),
      blobs,
      hostQueue: 'q',
      hostName: 'h',
      maxToolOutputBytes: 10_000,
      vault: new SecretVault({ get: async () => undefined }),
    });
    const session = {
      containerId: 'c1',
      taskQueue: 'q',
      host: 'h',
      image: 'keel-sandbox',
      commandsSinceSnapshot: 0,
      removed: false,
    };
    const call = (name: string, args: unknown) =>
      inActivity(activities.runSandboxTool, {
        agent: 'a',
        workflowId: 'wf',
        sandbox: session,
        guardrails: { input: [], output: [] },
        call: { callId: `c-${name}`, name, arguments: JSON.stringify(args) },
      });
    const results = {
      read: await call('read_file', { path: 'a.py' }),
      write: await call('write_file', { path: 'b.py', content: 'y' }),
      exec: await call('exec_command', { cmd: 'true' }),
      invalid: await call('write_file', { path: 'c.py' }),
    };
    assert.deepEqual(
      Object.values(results).map((r) => r.changed),
      [false, true, true, undefined],
      'arguments that never reached the handler say nothing',
    );
    assert.deepEqual([results.write.output, results.write.isError], ['wrote 1 bytes to b.py', false]);
    const tool = (name: string) => ({ name, kind: 'sandbox' }) as ToolSpec;
    const recorded = (r: Partial<RunToolResult>): RunToolResult => ({
      output: '',
      isError: false,
      guardrails: [],
      ...r,
    });
    assert.equal(
      changesWorkspace(tool('read_file'), recorded({ changed: true })),
      true,
      'the result is trusted over the name',
    );
    assert.equal(changesWorkspace(tool('write_file'), recorded({ changed: false })), false);
    // Results recorded before `changed` existed: the name list of then.
    assert.equal(changesWorkspace(tool('write_file'), recorded({})), true);
    assert.equal(changesWorkspace(tool('exec_command'), recorded({ executed: true })), true);
    assert.equal(changesWorkspace(tool('exec_command'), recorded({})), false);
    assert.equal(changesWorkspace(tool('read_file'), recorded({})), false);
    const inSandboxMcp = {
      name: 'git_commit',
      kind: 'mcp',
      mcp: { server: 'git', tool: 'commit', inSandbox: true },
    } as unknown as ToolSpec;
    assert.equal(changesWorkspace(inSandboxMcp, recorded({})), true, 'an in-sandbox MCP tool: as before');
  });
});
