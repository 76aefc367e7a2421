/**
 * Skills: folders with a `SKILL.md` (YAML front matter `name` and `description`, then instructions; optional
 * `scripts/` and `references/`), from a local directory or a git repository. Discovery runs on the worker when a
 * run's AgentSpec is resolved, so the skill index is pinned in the run's history.
 *
 * - `eager` (default): every skill is copied to /workspace/skills/<name>/ when the sandbox is created, and the
 *   instructions list them with their paths.
 * - `lazy`: the instructions carry only an index (name — description); the `load_skill` sandbox tool copies one
 *   skill into /workspace/skills/<name>/ and returns its SKILL.md.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeelError } from '../errors.js';
import { gitCheckout, gitHead, insideDir } from '../storage/git-cache.js';
import { sandboxTool, type Capability } from './capabilities.js';
import { localDir, type ManifestEntry } from './manifest.js';

/** Where skills go in the workspace. */
export const SKILLS_DIR = 'skills';
export const LOAD_SKILL_TOOL = 'load_skill';

export interface SkillsOptions {
  /**
   * A directory whose subfolders are skills (`localDir('./skills')` or a path), or a git repository
   * (`gitRepo({ url, ref })`, cloned on the worker into a cache under KEEL_HOME keyed by url and ref).
   */
  from: string | ManifestEntry;
  /** Folder inside the source that holds the skill folders. Default: the source's root. */
  path?: string;
  /** `eager` (default) copies every skill in when the sandbox is created; `lazy` adds an index and `load_skill`. */
  mode?: 'eager' | 'lazy';
}

export interface SkillFrontMatter {
  name: string;
  description: string;
}

/** One discovered skill, as pinned in the AgentSpec. */
export interface SkillInfo extends SkillFrontMatter {
  /** How to copy the skill folder into a sandbox. */
  entry: ManifestEntry;
}

/** What the skills capability pins for its `load_skill` tool. */
export interface SkillIndex {
  skills: SkillInfo[];
  /** For a git source, the commit the skills were read from. */
  commit?: string;
}

/** A name that is safe as one folder name: letters, digits, `.`, `_`, `-`, not starting with a dot. */
export const SKILL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses a SKILL.md's front matter; `where` names the file in errors. */
export function parseSkillFrontMatter(text: string, where = 'SKILL.md'): SkillFrontMatter {
  const match = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!match)
    throw new KeelError(
      'bad_usage',
      `${where} has no YAML front matter (it must start with a '---' line, then name and description, then '---')`,
    );
  let data: unknown;
  try {
    data = parseYaml(match[1]);
  } catch (err) {
    throw new KeelError(
      'bad_usage',
      `${where}: the front matter is not valid YAML (${(err as Error).message.split('\n')[0]})`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new KeelError('bad_usage', `${where}: the front matter must be a YAML mapping with name and description`);
  }
  const { name, description } = data as Record<string, unknown>;
  if (typeof name !== 'string' || !name.trim())
    throw new KeelError('bad_usage', `${where}: the front matter has no 'name'`);
  if (typeof description !== 'string' || !description.trim()) {
    throw new KeelError('bad_usage', `${where}: the front matter has no 'description'`);
  }
  if (!SKILL_NAME.test(name.trim())) {
    throw new KeelError(
      'bad_usage',
      `${where}: skill name '${name}' is not a safe folder name (letters, digits, '.', '_' and '-', at most 64, not starting with '.')`,
    );
  }
  return { name: name.trim(), description: description.trim().replace(/\s+/g, ' ') };
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function readSkillMd(dir: string): Promise<string | undefined> {
  return readFile(path.join(dir, 'SKILL.md'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/**
 * The skills in `dir`: each subfolder with a SKILL.md (or `dir` itself, when it has one), sorted by name.
 * Errors for bad front matter and duplicate names.
 */
export async function discoverSkills(dir: string): Promise<{ name: string; description: string; dir: string }[]> {
  if (!(await isDir(dir))) throw new KeelError('bad_usage', `skills directory ${dir} does not exist`);
  const own = await readSkillMd(dir);
  if (own !== undefined) return [{ ...parseSkillFrontMatter(own, path.join(dir, 'SKILL.md')), dir }];
  const found: { name: string; description: string; dir: string }[] = [];
  const byName = new Map<string, string>();
  for (const child of (await readdir(dir)).sort()) {
    const sub = path.join(dir, child);
    if (child.startsWith('.') || !(await isDir(sub))) continue;
    const text = await readSkillMd(sub);
    if (text === undefined) continue;
    const fm = parseSkillFrontMatter(text, path.join(sub, 'SKILL.md'));
    const other = byName.get(fm.name);
    if (other) throw new KeelError('bad_usage', `two skills are named '${fm.name}': ${other} and ${sub}`);
    byName.set(fm.name, sub);
    found.push({ ...fm, dir: sub });
  }
  if (!found.length) throw new KeelError('bad_usage', `no skills in ${dir} (expected folders containing a SKILL.md)`);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Discovers the skills of a source on this worker (cloning a repository into the cache when needed). */
export async function resolveSkillIndex(options: Pick<SkillsOptions, 'from' | 'path'>): Promise<SkillIndex> {
  const from = typeof options.from === 'string' ? localDir(options.from) : options.from;
  const sub = options.path ?? '.';
  if (from.type === 'localDir') {
    const skills = await discoverSkills(insideDir(from.path, sub));
    return { skills: skills.map((s) => ({ name: s.name, description: s.description, entry: localDir(s.dir) })) };
  }
  if (from.type === 'gitRepo') {
    const checkout = await gitCheckout(from.url, from.ref);
    const root = insideDir(checkout, path.join(from.subdir ?? '.', sub));
    const skills = await discoverSkills(root);
    return {
      commit: await gitHead(checkout),
      skills: skills.map((s) => ({
        name: s.name,
        description: s.description,
        entry: { type: 'gitRepo', url: from.url, ref: from.ref, subdir: path.relative(checkout, s.dir) || '.' },
      })),
    };
  }
  throw new KeelError(
    'bad_usage',
    `skills come from a local directory or a git repository, not a '${from.type}' entry`,
  );
}

function skillPath(name: string): string {
  return `/workspace/${SKILLS_DIR}/${name}`;
}

function eagerInstructions(index: SkillIndex): string {
  return [
    `Skills are installed in /workspace/${SKILLS_DIR}/. Before doing a task a skill covers, read its SKILL.md and follow it ` +
      `(a skill may come with scripts/ to run and references/ to read):`,
    ...index.skills.map((s) => `- ${s.name} — ${s.description} (${skillPath(s.name)}/SKILL.md)`),
  ].join('\n');
}

function lazyInstructions(index: SkillIndex): string {
  return [
    `Skills you can load with ${LOAD_SKILL_TOOL}: it copies the skill to /workspace/${SKILLS_DIR}/<name>/ and returns its SKILL.md. ` +
      `Load a skill before doing a task it covers, then follow its SKILL.md:`,
    ...index.skills.map((s) => `- ${s.name} — ${s.description}`),
  ].join('\n');
}

const loadSkill = sandboxTool({
  name: LOAD_SKILL_TOOL,
  description: `Copy a skill into /workspace/${SKILLS_DIR}/<name>/ and return its SKILL.md instructions.`,
  parameters: z.object({ name: z.string().min(1).describe('The name of the skill, as listed in the instructions') }),
  async execute({ name }, ctx) {
    const index = ctx.data as SkillIndex | undefined;
    const skills = index?.skills ?? [];
    const skill = skills.find((s) => s.name === name);
    if (!skill) {
      const available = skills.map((s) => s.name).join(', ') || 'none';
      return { output: `Error: there is no skill named '${name}'. Available skills: ${available}.`, isError: true };
    }
    await ctx.materialize({ [`${SKILLS_DIR}/${skill.name}`]: skill.entry });
    const text = (
      await ctx.sandbox.readFile(`${SKILLS_DIR}/${skill.name}/SKILL.md`, { maxBytes: 256 * 1024 })
    ).toString('utf8');
    return `Skill '${skill.name}' is now in ${skillPath(skill.name)}/ (paths in it are relative to that folder).\n\n${text}`;
  },
});

/** The skills capability; pair it with shell() and/or filesystem() so the agent can read the skills' files. */
export function skills(options: SkillsOptions): Capability {
  const mode = options.mode ?? 'eager';
  if (mode !== 'eager' && mode !== 'lazy')
    throw new TypeError(`skills mode must be 'eager' or 'lazy', not '${String(mode)}'`);
  return {
    name: 'skills',
    sandboxTools: mode === 'lazy' ? [loadSkill] : [],
    async resolve(ctx) {
      if (!ctx.hasSandbox)
        throw new KeelError('bad_usage', `agent '${ctx.agent}' uses skills(), which needs a SandboxAgent`);
      const index = await resolveSkillIndex(options);
      if (mode === 'lazy') return { instructions: lazyInstructions(index), data: index };
      const manifest = Object.fromEntries(index.skills.map((s) => [`${SKILLS_DIR}/${s.name}`, s.entry]));
      return { instructions: eagerInstructions(index), manifest, data: index };
    },
  };
}
