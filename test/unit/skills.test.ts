/**
 * Skills without servers: SKILL.md front matter parsing and its errors, discovery from a directory, and what the
 * capability puts in a resolved AgentSpec (eager manifest entries, lazy index and load_skill tool).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { gitRepo, localDir } from '../../src/agents/manifest.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import {
  discoverSkills,
  parseSkillFrontMatter,
  resolveSkillIndex,
  skills,
  type SkillIndex,
} from '../../src/agents/skills.js';
import { spawnSync } from 'node:child_process';

const skillMd = (name: string, description: string, body = 'Do the thing.') =>
  `---\nname: ${name}\ndescription: ${description}\n---\n\n# ${name}\n\n${body}\n`;

async function writeSkill(
  root: string,
  folder: string,
  text: string,
  extra: Record<string, string> = {},
): Promise<void> {
  await mkdir(path.join(root, folder), { recursive: true });
  await writeFile(path.join(root, folder, 'SKILL.md'), text);
  for (const [rel, content] of Object.entries(extra)) {
    await mkdir(path.dirname(path.join(root, folder, rel)), { recursive: true });
    await writeFile(path.join(root, folder, rel), content);
  }
}

const throwsMessage = (re: RegExp) => (err: unknown) => err instanceof Error && re.test(err.message);

describe('SKILL.md front matter', () => {
  test('parses name and description, with CRLF line ends, a BOM and multi-line YAML', () => {
    assert.deepEqual(parseSkillFrontMatter(skillMd('pdf-tools', 'Fill and merge PDFs.')), {
      name: 'pdf-tools',
      description: 'Fill and merge PDFs.',
    });
    assert.deepEqual(
      parseSkillFrontMatter('\uFEFF---\r\nname: csv\r\ndescription: "Clean: CSV files"\r\n---\r\nbody'),
      { name: 'csv', description: 'Clean: CSV files' },
    );
    assert.deepEqual(parseSkillFrontMatter('---\nname: x\ndescription: >\n  spans\n  lines\nlicense: MIT\n---\n'), {
      name: 'x',
      description: 'spans lines',
    });
  });

  test('rejects a file without front matter, without name or description, or with invalid YAML', () => {
    assert.throws(
      () => parseSkillFrontMatter('# Just a heading\n', 'a/SKILL.md'),
      throwsMessage(/^a\/SKILL\.md has no YAML front matter/),
    );
    assert.throws(() => parseSkillFrontMatter('---\nname: x\ndescription: y\n'), throwsMessage(/no YAML front matter/)); // never closed
    assert.throws(() => parseSkillFrontMatter('---\ndescription: y\n---\n'), throwsMessage(/has no 'name'/));
    assert.throws(() => parseSkillFrontMatter('---\nname: x\n---\n'), throwsMessage(/has no 'description'/));
    assert.throws(
      () => parseSkillFrontMatter('---\nname: x\ndescription: "  "\n---\n'),
      throwsMessage(/has no 'description'/),
    );
    assert.throws(() => parseSkillFrontMatter('---\nname: 12\ndescription: y\n---\n'), throwsMessage(/has no 'name'/));
    assert.throws(() => parseSkillFrontMatter('---\n- a\n- b\n---\n'), throwsMessage(/must be a YAML mapping/));
    assert.throws(() => parseSkillFrontMatter('---\nname: [x\n---\n'), throwsMessage(/not valid YAML/));
  });

  test('rejects names that are not safe folder names', () => {
    for (const name of ['../evil', '.hidden', 'a/b', 'has space', '..', 'x'.repeat(65)]) {
      assert.throws(
        () => parseSkillFrontMatter(skillMd(JSON.stringify(name), 'd')),
        throwsMessage(/is not a safe folder name/),
        name,
      );
    }
    assert.equal(parseSkillFrontMatter(skillMd('Data_Tools-2.1', 'd')).name, 'Data_Tools-2.1');
  });
});

describe('skill discovery', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'keel-skills-unit-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('finds the folders with a SKILL.md, sorted by name, skipping others and hidden ones', async () => {
    const dir = path.join(root, 'ok');
    await writeSkill(dir, 'zeta', skillMd('zeta', 'Last one.'), {
      'scripts/run.sh': 'echo hi\n',
      'references/notes.md': 'n',
    });
    await writeSkill(dir, 'folder-a', skillMd('alpha', 'First one.'));
    await mkdir(path.join(dir, 'not-a-skill'), { recursive: true });
    await writeFile(path.join(dir, 'README.md'), 'not a skill');
    await writeSkill(dir, '.hidden', skillMd('hidden', 'Ignored.'));
    const found = await discoverSkills(dir);
    assert.deepEqual(found, [
      { name: 'alpha', description: 'First one.', dir: path.join(dir, 'folder-a') },
      { name: 'zeta', description: 'Last one.', dir: path.join(dir, 'zeta') },
    ]);
    const index = await resolveSkillIndex({ from: localDir(dir) });
    assert.deepEqual(
      index.skills.map((s) => s.entry),
      [localDir(path.join(dir, 'folder-a')), localDir(path.join(dir, 'zeta'))],
    );
    assert.deepEqual(await resolveSkillIndex({ from: dir }), index, 'a path string is a local directory');
    // A folder that is itself a skill.
    assert.deepEqual(
      (await discoverSkills(path.join(dir, 'zeta'))).map((s) => s.name),
      ['zeta'],
    );
  });

  test('names the file with bad front matter, duplicate names, and empty or missing directories', async () => {
    const bad = path.join(root, 'bad');
    await writeSkill(bad, 'good', skillMd('good', 'Fine.'));
    await writeSkill(bad, 'broken', 'no front matter here\n');
    await assert.rejects(
      discoverSkills(bad),
      throwsMessage(new RegExp(`${path.join(bad, 'broken', 'SKILL.md')} has no YAML front matter`)),
    );

    const dup = path.join(root, 'dup');
    await writeSkill(dup, 'one', skillMd('same', 'A.'));
    await writeSkill(dup, 'two', skillMd('same', 'B.'));
    await assert.rejects(discoverSkills(dup), throwsMessage(/two skills are named 'same'.*one.*two/));

    const empty = path.join(root, 'empty');
    await mkdir(path.join(empty, 'nothing'), { recursive: true });
    await assert.rejects(
      discoverSkills(empty),
      throwsMessage(/no skills in .*expected folders containing a SKILL\.md/),
    );
    await assert.rejects(discoverSkills(path.join(root, 'missing')), throwsMessage(/does not exist/));
  });

  test('reads a git repository at a ref through the cache, pinning gitRepo entries with the skill subfolder', async () => {
    const repo = path.join(root, 'repo');
    await writeSkill(path.join(repo, 'skills'), 'deploy', skillMd('deploy', 'Old description.'));
    const git = (...args: string[]) => {
      const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: repo,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    git('init', '--quiet');
    git('add', '.');
    git('commit', '--quiet', '-m', 'v1');
    git('tag', 'v1');
    await writeSkill(path.join(repo, 'skills'), 'deploy', skillMd('deploy', 'New description.'));
    git('commit', '--quiet', '-am', 'v2');
    const home = process.env.KEEL_HOME;
    process.env.KEEL_HOME = path.join(root, 'keel-home');
    try {
      const v1 = await resolveSkillIndex({ from: gitRepo({ url: repo, ref: 'v1' }), path: 'skills' });
      assert.equal(v1.skills[0].description, 'Old description.');
      assert.deepEqual(v1.skills[0].entry, { type: 'gitRepo', url: repo, ref: 'v1', subdir: 'skills/deploy' });
      assert.equal(v1.commit, git('rev-parse', 'v1'));
      const head = await resolveSkillIndex({ from: gitRepo({ url: repo, subdir: 'skills' }) });
      assert.equal(head.skills[0].description, 'New description.');
      assert.equal(head.commit, git('rev-parse', 'HEAD'));
    } finally {
      if (home === undefined) delete process.env.KEEL_HOME;
      else process.env.KEEL_HOME = home;
    }
  });
});

describe('skills in a resolved AgentSpec', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keel-skills-spec-'));
    await writeSkill(dir, 'csv', skillMd('csv-clean', 'Clean CSV files.'));
    await writeSkill(dir, 'pdf', skillMd('pdf-fill', 'Fill PDF forms.'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = { agent: 'a', workflowId: 'wf', context: undefined };

  test('eager: the skills become manifest entries under skills/ and the instructions list their paths', async () => {
    const agent = new SandboxAgent({
      name: 'a',
      instructions: 'Base.',
      capabilities: [shell(), skills({ from: localDir(dir) })],
    });
    const spec = await new AgentRegistry([agent]).resolve('a', ctx);
    assert.deepEqual(spec.sandbox?.manifest.entries, {
      'skills/csv-clean': localDir(path.join(dir, 'csv')),
      'skills/pdf-fill': localDir(path.join(dir, 'pdf')),
    });
    assert.match(spec.instructions, /^Base\./);
    assert.match(spec.instructions, /- csv-clean — Clean CSV files\. \(\/workspace\/skills\/csv-clean\/SKILL\.md\)/);
    assert.deepEqual(
      spec.tools.map((t) => t.name),
      ['exec_command'],
    );
  });

  test('lazy: only an index in the instructions, a load_skill sandbox tool, and the index pinned for it', async () => {
    const agent = new SandboxAgent({
      name: 'a',
      instructions: 'Base.',
      capabilities: [shell(), skills({ from: dir, mode: 'lazy' })],
    });
    const registry = new AgentRegistry([agent]);
    const spec = await registry.resolve('a', ctx);
    assert.deepEqual(spec.sandbox?.manifest.entries, {});
    assert.match(spec.instructions, /load_skill/);
    assert.match(spec.instructions, /- pdf-fill — Fill PDF forms\.\n?/);
    assert.doesNotMatch(spec.instructions, /SKILL\.md\)/);
    const load = spec.tools.find((t) => t.name === 'load_skill');
    assert.equal(load?.kind, 'sandbox');
    assert.deepEqual((load?.parameters as { required: string[] }).required, ['name']);
    const index = spec.sandbox?.capabilityData?.skills as SkillIndex;
    assert.deepEqual(
      index.skills.map((s) => s.name),
      ['csv-clean', 'pdf-fill'],
    );
    assert.equal(registry.sandboxTool('a', 'load_skill')?.capability.name, 'skills');
    assert.equal(registry.sandboxTool('a', 'exec_command'), undefined);
  });

  test('errors: a plain Agent, a bad source', async () => {
    const plain = new Agent({ name: 'a', instructions: 'x', capabilities: [skills({ from: dir })] });
    await assert.rejects(new AgentRegistry([plain]).resolve('a', ctx), throwsMessage(/needs a SandboxAgent/));
    const missing = new SandboxAgent({
      name: 'a',
      instructions: 'x',
      capabilities: [skills({ from: path.join(dir, 'nope') })],
    });
    await assert.rejects(new AgentRegistry([missing]).resolve('a', ctx), throwsMessage(/does not exist/));
    assert.throws(() => skills({ from: dir, mode: 'sometimes' as never }), /eager' or 'lazy/);
  });
});
