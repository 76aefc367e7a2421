/**
 * docker-compose.yml cannot be started here (no image registry), so this checks what can be checked: the file is
 * valid for Compose (`docker-compose config`), follows Temporal's current self-hosting images, and the worker image
 * runs Keel from the packed package as a non-root user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const REPO = path.resolve(import.meta.dirname, '..', '..');

function composeConfig(): {
  services: Record<string, { image?: string; environment?: Record<string, string>; user?: string }>;
} {
  const out = execFileSync('docker-compose', ['-f', path.join(REPO, 'docker-compose.yml'), 'config'], {
    encoding: 'utf8',
    env: { ...process.env, OPENAI_API_KEY: '' },
  });
  return parse(out) as ReturnType<typeof composeConfig>;
}

test('docker-compose.yml is valid and uses the server image with a schema job, not auto-setup', () => {
  const { services } = composeConfig();
  const images = Object.values(services).map((s) => s.image ?? '');
  assert.ok(!images.some((i) => i.includes('auto-setup')), 'the deprecated auto-setup image is not used');
  assert.match(services.temporal.image!, /^temporalio\/server:/);
  assert.match(services['temporal-schema'].image!, /^temporalio\/admin-tools:/);
  assert.equal(services['keel-worker'].environment!.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.match(services['keel-worker'].environment!.KEEL_AGENTS, /^\/agents\//);
});

test('the worker image installs the packed package and runs as a non-root user', () => {
  const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /npm pack/);
  assert.match(dockerfile, /npm install --omit=dev .*keel-\*\.tgz/);
  const lastUser = [...dockerfile.matchAll(/^USER (\S+)/gm)].pop()?.[1];
  assert.ok(lastUser && lastUser !== 'root' && lastUser !== '0', `the final stage runs as ${lastUser ?? 'root'}`);
  assert.match(dockerfile, /CMD \["npx", "keel", "worker"\]/);
  assert.match(
    dockerfile,
    /^ENV MALLOC_ARENA_MAX=2$/m,
    'the worker starts with two malloc arenas (docs/operations.md)',
  );
  assert.match(
    dockerfile,
    /^ENV NODE_OPTIONS=--max-semi-space-size=2$/m,
    "the worker's V8 isolates start with a small young generation (docs/operations.md)",
  );
});
