// The in-sandbox agent's own unit tests (agent/*_test.go: output capture, path resolution), run with go test so
// they are part of the unit suite. Go is needed anyway: scripts/build-agent.sh builds the agent with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('the agent passes its Go unit tests', () => {
  const dir = fileURLToPath(new URL('../../agent', import.meta.url));
  const r = spawnSync('go', ['test', './...'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
  });
  assert.equal(r.error, undefined, `go is not installed: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
