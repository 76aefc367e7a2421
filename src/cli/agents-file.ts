/**
 * Loads the user's agents module for `keel dev` / `keel worker`: `.js`/`.mjs`/`.cjs` with Node itself, `.ts`/
 * `.mts`/`.cts` through tsx's loader API (tsx is an optional peer dependency: only needed for TypeScript files).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent } from '../agents/agent.js';
import { usage } from './command.js';

type AgentsModule = { agents?: unknown; default?: unknown };

export async function loadAgents(file: string): Promise<Agent[]> {
  const full = path.resolve(file);
  if (!existsSync(full)) usage(`agents file ${file} does not exist`);
  const mod = /\.[mc]?ts$/.test(full)
    ? await importTypeScript(full)
    : ((await import(pathToFileURL(full).href)) as AgentsModule);
  const fromDefault = (mod.default as AgentsModule | undefined)?.agents ?? mod.default;
  const agents = mod.agents ?? fromDefault;
  if (!Array.isArray(agents) || agents.length === 0)
    usage(`${file} must export \`agents\` (a non-empty array of Agent)`);
  return agents as Agent[];
}

async function importTypeScript(full: string): Promise<AgentsModule> {
  let tsImport: (specifier: string, parent: string) => Promise<unknown>;
  try {
    ({ tsImport } = (await import('tsx/esm/api')) as { tsImport: typeof tsImport });
  } catch {
    usage(
      `loading a TypeScript agents file needs tsx: \`npm install --save-dev tsx\` (or compile ${path.basename(full)} to JavaScript)`,
    );
  }
  return (await tsImport(pathToFileURL(full).href, import.meta.url)) as AgentsModule;
}

/** The agents file from --agents or KEEL_AGENTS; a worker without agents is bad usage, not the demo. */
export function agentsFileFrom(values: Record<string, unknown>, command: string): string {
  const file = (values.agents as string | undefined) ?? process.env.KEEL_AGENTS;
  if (!file) usage(`${command} needs --agents FILE (a module exporting \`agents\`) or KEEL_AGENTS`);
  return file;
}
