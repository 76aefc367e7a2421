/**
 * Skills in real runs (Temporal dev server, scripted model through the real `openai` client, Docker sandboxes):
 * eager skills are in the workspace from the start; lazy skills are listed, and load_skill copies one in or
 * names the available ones; skills from a git repository are read at the pinned ref.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { gitRepo, localDir } from '../../src/agents/manifest.js';
import { skills } from '../../src/agents/skills.js';
import type { Script } from '../../src/testing/script.js';
import { capturingOpenAI } from '../helpers/runs.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execStep as exec } from '../helpers/script-steps.js';

let stack: TestStack;
let root: string;
before(async () => {
  stack = await startTestStack();
  root = await mkdtemp(path.join(tmpdir(), 'keel-skills-it-'));
});
after(async () => {
  await stack?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function writeSkill(dir: string, folder: string, name: string, description: string, body: string): Promise<void> {
  await mkdir(path.join(dir, folder, 'scripts'), { recursive: true });
  await writeFile(
    path.join(dir, folder, 'SKILL.md'),
    `---\nname: ${name}\ndescription: ${description}\n---\n\n${body}\n`,
  );
  await writeFile(path.join(dir, folder, 'scripts', 'run.sh'), `echo "${name} script ran"\n`);
}

async function run(agent: SandboxAgent, script: Script, name: string) {
  stack.model.setScript(agent.options.model as string, script);
  const { openai, requests } = capturingOpenAI(stack.model.baseURL);
  const queue = queueFor(name);
  const worker = await sandboxWorker(stack, [agent], queue, { openai });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    const result = await client.result(id);
    const state = await client.getState(id);
    return { result, state, requests, results: toolResults(state) };
  });
}

test('eager skills are copied into /workspace/skills/<name>/ when the sandbox is created', async () => {
  const dir = path.join(root, 'eager');
  await writeSkill(dir, 'greet-folder', 'greeter', 'Greets people politely.', 'EAGER-GREETER-BODY');
  await writeSkill(dir, 'other', 'counter', 'Counts things.', 'EAGER-COUNTER-BODY');
  const agent = new SandboxAgent({
    name: 'eager-skills',
    instructions: 'Use your skills.',
    model: 'skills-eager',
    capabilities: [shell(), skills({ from: localDir(dir) })],
  });
  const { state, requests, results } = await run(
    agent,
    {
      steps: [
        exec(
          'cat /workspace/skills/greeter/SKILL.md && bash /workspace/skills/greeter/scripts/run.sh && ls /workspace/skills',
        ),
        { message: 'done' },
      ],
    },
    'skills eager',
  );
  assert.equal(state.status, 'completed');
  assert.equal(results.length, 1);
  assert.equal(results[0].isError, false, results[0].output);
  assert.match(results[0].output, /name: greeter\ndescription: Greets people politely\.\n---\n\nEAGER-GREETER-BODY/);
  assert.match(results[0].output, /greeter script ran\ncounter\ngreeter\n/);
  const instructions = String(requests[0].instructions);
  assert.match(instructions, /- greeter — Greets people politely\. \(\/workspace\/skills\/greeter\/SKILL\.md\)/);
  assert.match(instructions, /- counter — Counts things\./);
  assert.ok(
    !(requests[0].tools as { name: string }[]).some((t) => t.name === 'load_skill'),
    'eager mode has no load_skill tool',
  );
});

test('lazy skills: an index in the instructions, load_skill copies one in, unknown names list the available ones', async () => {
  const dir = path.join(root, 'lazy');
  await writeSkill(dir, 'alpha', 'alpha', 'First skill.', 'LAZY-ALPHA-BODY');
  await writeSkill(dir, 'beta', 'beta', 'Second skill.', 'LAZY-BETA-BODY');
  const agent = new SandboxAgent({
    name: 'lazy-skills',
    instructions: 'Load skills when needed.',
    model: 'skills-lazy',
    capabilities: [shell(), skills({ from: dir, mode: 'lazy' })],
  });
  const { state, requests, results } = await run(
    agent,
    {
      steps: [
        exec('test -e /workspace/skills && echo present || echo absent'),
        { toolCalls: [{ name: 'load_skill', arguments: { name: 'beta' } }] },
        exec('ls -R /workspace/skills && bash /workspace/skills/beta/scripts/run.sh'),
        { toolCalls: [{ name: 'load_skill', arguments: { name: 'gamma' } }] },
        { message: 'done' },
      ],
    },
    'skills lazy',
  );
  assert.equal(state.status, 'completed');
  const tools = requests[0].tools as { name: string }[];
  assert.ok(
    tools.some((t) => t.name === 'load_skill'),
    `tools: ${tools.map((t) => t.name).join(', ')}`,
  );
  const instructions = String(requests[0].instructions);
  assert.match(instructions, /- alpha — First skill\.\n- beta — Second skill\./);
  assert.doesNotMatch(instructions, /LAZY-ALPHA-BODY|LAZY-BETA-BODY/);

  const [before, loaded, listed, unknown] = results;
  assert.match(before.output, /absent/, 'lazy skills are not copied in up front');
  assert.equal(loaded.name, 'load_skill');
  assert.equal(loaded.isError, false, loaded.output);
  assert.match(loaded.output, /\/workspace\/skills\/beta\//);
  assert.match(loaded.output, /name: beta\ndescription: Second skill\.\n---\n\nLAZY-BETA-BODY/);
  assert.equal(listed.isError, false, listed.output);
  assert.match(listed.output, /\/workspace\/skills:\nbeta\n/, 'only the loaded skill is there');
  assert.match(listed.output, /\/workspace\/skills\/beta:\nSKILL\.md\nscripts\n/);
  assert.match(listed.output, /beta script ran/);
  assert.equal(unknown.isError, true);
  assert.match(unknown.output, /no skill named 'gamma'\. Available skills: alpha, beta\./);
});

test('skills from a git repository are cloned on the worker and read at the given ref', async () => {
  const repo = path.join(root, 'repo');
  await writeSkill(path.join(repo, 'skills'), 'deploy', 'deploy', 'Deploys the app.', 'GIT-V1-BODY');
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  git('init', '--quiet');
  git('add', '.');
  git('commit', '--quiet', '-m', 'v1');
  git('tag', 'v1');
  await writeSkill(path.join(repo, 'skills'), 'deploy', 'deploy', 'Deploys the app, v2.', 'GIT-V2-BODY');
  git('commit', '--quiet', '-am', 'v2');

  const home = process.env.KEEL_HOME;
  process.env.KEEL_HOME = path.join(root, 'keel-home'); // the clone cache lives under KEEL_HOME
  try {
    const agent = new SandboxAgent({
      name: 'git-skills',
      instructions: 'Use your skills.',
      model: 'skills-git',
      capabilities: [shell(), skills({ from: gitRepo({ url: repo, ref: 'v1' }), path: 'skills' })],
    });
    const { state, requests, results } = await run(
      agent,
      { steps: [exec('cat /workspace/skills/deploy/SKILL.md; ls -a /workspace/skills/deploy'), { message: 'done' }] },
      'skills git',
    );
    assert.equal(state.status, 'completed');
    assert.match(String(requests[0].instructions), /- deploy — Deploys the app\. \(/);
    assert.match(results[0].output, /GIT-V1-BODY/);
    assert.doesNotMatch(results[0].output, /GIT-V2-BODY|\.git\n/);
  } finally {
    if (home === undefined) delete process.env.KEEL_HOME;
    else process.env.KEEL_HOME = home;
  }
});
