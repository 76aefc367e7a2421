/**
 * Finds the in-sandbox agent binary: KEEL_AGENT_BIN when set; in a checkout, the build of its agent/ sources at
 * `.keel/bin/keel-agent-<hash>` (scripts/build-agent.sh, which set-up runs; it is run here once when the binary
 * for the current sources is missing and Go is installed); in an installed package, its `dist/keel-agent`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from '../errors.js';

let found: { path: string; bytes: Buffer; sha256: string } | undefined;

/** The agent binary's path, bytes and content hash (read once per process). */
export function agentBinary(): { path: string; bytes: Buffer; sha256: string } {
  if (found) return found;
  const file = process.env.KEEL_AGENT_BIN ?? defaultAgentPath();
  if (!existsSync(file))
    throw new SandboxError('sandbox_unavailable', `the sandbox agent binary ${file} does not exist (KEEL_AGENT_BIN)`);
  const bytes = readFileSync(file);
  found = { path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  return found;
}

/**
 * A checkout's agent built from its sources (agent/go.mod above this module), else the installed package's
 * prebuilt `dist/keel-agent` (`npm run build` places it there).
 */
function defaultAgentPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'agent', 'go.mod'))) return builtAgentPath(dir);
    if (existsSync(path.join(dir, 'dist', 'keel-agent'))) return path.join(dir, 'dist', 'keel-agent');
    dir = path.dirname(dir);
  }
  throw new SandboxError(
    'sandbox_unavailable',
    'no sandbox agent: set KEEL_AGENT_BIN to a keel-agent binary (scripts/build-agent.sh --out PATH builds one)',
  );
}

/** Same hash as scripts/build-agent.sh: go.mod and the non-test .go files, by name, NUL-separated. */
export function agentSourceHash(agentDir: string): string {
  const names = readdirSync(agentDir)
    .filter((n) => n === 'go.mod' || (n.endsWith('.go') && !n.endsWith('_test.go')))
    .sort();
  const hash = createHash('sha256');
  for (const name of names)
    hash
      .update(`${name}\0`)
      .update(readFileSync(path.join(agentDir, name)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

function builtAgentPath(root: string): string {
  const file = path.join(root, '.keel', 'bin', `keel-agent-${agentSourceHash(path.join(root, 'agent'))}`);
  if (existsSync(file)) return file;
  const built = spawnSync('bash', [path.join(root, 'scripts', 'build-agent.sh')], { encoding: 'utf8' });
  if (built.status !== 0 || !existsSync(file)) {
    throw new SandboxError(
      'sandbox_unavailable',
      `cannot build the sandbox agent (scripts/build-agent.sh): ${(built.stderr ?? '').trim() || built.error?.message}`,
    );
  }
  return file;
}
