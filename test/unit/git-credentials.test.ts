/**
 * Cloned repositories keep no credential: a token written into the URL or passed as `auth` reaches the server as
 * a header, and the clone's .git/config holds the bare URL (issue 10). Real git against a loopback HTTP server.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gitRepo } from '../../src/agents/manifest.js';
import { secret } from '../../src/agents/secret.js';
import { gitClone } from '../../src/storage/git-cache.js';
import { startPrivateGitServer, type PrivateGitServer } from '../helpers/git-http.js';

const TOKEN = 'ghp_unitTestToken0123456789';
let server: PrivateGitServer;
before(async () => {
  server = await startPrivateGitServer({ 'README.md': 'private readme\n' }, 'x-access-token', TOKEN);
});
after(() => server?.close());

const fresh = () => path.join(mkdtempSync(path.join(tmpdir(), 'keel-clone-')), 'repo');

describe('git credentials', () => {
  test('a token in the URL authenticates the clone but stays out of .git/config', async () => {
    const dir = fresh();
    await gitClone(server.url.replace('http://', `http://x-access-token:${TOKEN}@`), undefined, dir);
    assert.equal(readFileSync(path.join(dir, 'README.md'), 'utf8'), 'private readme\n');
    const config = readFileSync(path.join(dir, '.git', 'config'), 'utf8');
    assert.ok(!config.includes(TOKEN), '.git/config has no token');
    assert.match(config, new RegExp(`url = ${server.url.replace(/[.]/g, '\\.')}\\n`));
  });

  test('auth given out of band authenticates; without it the clone is refused', async () => {
    const dir = fresh();
    await gitClone(server.url, undefined, dir, TOKEN);
    assert.ok(!readFileSync(path.join(dir, '.git', 'config'), 'utf8').includes(TOKEN));
    await assert.rejects(gitClone(server.url, undefined, fresh()), /git clone .* failed/);
  });

  test('gitRepo() refuses a URL with a credential and keeps only the reference to auth', () => {
    assert.throws(
      () => gitRepo({ url: `https://x:${TOKEN}@example.com/r.git` }),
      /has a credential in it; pass it as auth: secret/,
    );
    assert.deepEqual(gitRepo({ url: 'https://example.com/r.git', auth: secret('GH_TOKEN') }), {
      type: 'gitRepo',
      url: 'https://example.com/r.git',
      ref: undefined,
      auth: { $secret: 'GH_TOKEN' },
    });
  });
});
