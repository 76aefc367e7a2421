/**
 * MCP servers that run inside the Docker sandbox in the tests: the MCP project's reference git server from PyPI
 * (`mcp-server-git`, unpacked for the image's Python by scripts/ensure-mcp-git-server.sh and copied into the
 * workspace), and a small hostile one (test/helpers/mcp-crash-server.py) that dies on request.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { file, localDir, type ManifestEntry } from '../../src/agents/manifest.js';
import { mcpStdio, type McpServer, type McpStdioOptions } from '../../src/agents/mcp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the server's packages go in the workspace. */
export const SITE_IN_WORKSPACE = '.mcp/site';

let site: string | undefined;

/** The unpacked git server on the host (fetched once by the ensure script, which the set-up also runs). */
export function gitServerSite(): string {
  if (site) return site;
  const r = spawnSync('bash', [path.join(root, 'scripts/ensure-mcp-git-server.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/ensure-mcp-git-server.sh failed: ${r.stderr}`);
  site = r.stdout.trim();
  return site;
}

type Extra = Omit<McpStdioOptions, 'command' | 'args' | 'name' | 'inSandbox'>;

/** Manifest entries that put the git server's packages (34 MB: only for tests that use it) or the crash server into the workspace. */
export function serverEntries(which: 'git' | 'crash'): Record<string, ManifestEntry> {
  if (which === 'git') return { [SITE_IN_WORKSPACE]: localDir(gitServerSite()) };
  return { '.mcp/crash.py': file(readFileSync(path.join(root, 'test/helpers/mcp-crash-server.py'), 'utf8')) };
}

/** The reference git server, inside the sandbox. */
export const gitInSandbox = (name: string, extra: Extra = {}): McpServer =>
  mcpStdio({
    name,
    command: 'python3',
    args: ['-m', 'mcp_server_git'],
    env: { PYTHONPATH: `/workspace/${SITE_IN_WORKSPACE}` },
    inSandbox: true,
    ...extra,
  });

/** The same server on the worker (the host's python3 loads the same CPython 3.11 packages). */
export const gitOnWorker = (name: string, extra: Extra = {}): McpServer =>
  mcpStdio({
    name,
    command: 'python3',
    args: ['-m', 'mcp_server_git'],
    env: { PYTHONPATH: gitServerSite() },
    ...extra,
  });

/** The hostile server, inside the sandbox. */
export const crashInSandbox = (name: string, extra: Extra = {}): McpServer =>
  mcpStdio({ name, command: 'python3', args: ['/workspace/.mcp/crash.py'], inSandbox: true, ...extra });
