/** The pure half of a run's workspace check (agents/run-workspace.ts) and `keel run`'s workspace flags. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseSnapshotRef,
  refusedRepoUrl,
  runTenant,
  workspacePath,
  workspaceProblems,
} from '../../src/agents/run-workspace.js';
import { workspaceFromFlags } from '../../src/cli/run-workspace.js';

describe('run workspace checks', { timeout: 10_000 }, () => {
  test('paths stay inside /workspace', () => {
    assert.equal(workspacePath('a/./b/../c'), 'a/c');
    assert.equal(workspacePath('/workspace/src/x'), 'src/x');
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', '', '.', 'a\0b', '/workspace/../x'])
      assert.equal(workspacePath(bad), undefined, bad);
  });

  test('repository URLs: remote only, no credentials in them', () => {
    assert.equal(refusedRepoUrl('https://git.example/o/r.git'), undefined);
    assert.equal(refusedRepoUrl('git://git.example/o/r.git'), undefined);
    assert.match(refusedRepoUrl('https://tok@git.example/r.git')!, /credential in it; pass it as auth: secret/);
    assert.match(refusedRepoUrl('https://u:p@git.example/r.git')!, /credential/);
    assert.ok(!refusedRepoUrl('https://u:p@git.example/r.git')!.includes('u:p'), 'the credential is not repeated');
    for (const local of ['/etc', 'file:///etc', '../repo', 'ext::sh -c x', 'git@github.com:o/r.git'])
      assert.match(refusedRepoUrl(local)!, /must be https:\/\/, http:\/\/ or git:\/\//, local);
    assert.match(
      refusedRepoUrl('ssh://git@git.example/o/r.git')!,
      /worker's own identity/,
      'ssh would clone as the worker',
    );
  });

  test('secrets only from runSecrets; shapes checked', () => {
    const ws = { entries: { repo: { type: 'gitRepo', url: 'https://g.example/r.git', auth: { $secret: 'ADMIN' } } } };
    assert.deepEqual(workspaceProblems(ws), [], 'the client does not know the agent’s list');
    assert.match(workspaceProblems(ws, ['GH_TOKEN']).join(), /secret 'ADMIN' is not one the agent lets runs name/);
    assert.deepEqual(workspaceProblems(ws, ['ADMIN']), []);
    assert.match(workspaceProblems({ entries: { x: { type: 'localDir', path: 'rel' } } }).join(), /absolute path/);
    assert.match(workspaceProblems({ entries: { x: { type: 'exec' } } }).join(), /unknown type/);
    assert.match(workspaceProblems({ entries: {}, extra: 1 }).join(), /unknown field 'extra'/);
    assert.match(workspaceProblems({ fromSnapshot: 'a b' }).join(), /fromSnapshot must be/);
    assert.match(workspaceProblems('x').join(), /must be an object/);
  });

  test('snapshot references and tenants', () => {
    assert.deepEqual(parseSnapshotRef('fixer-01ABC'), { runId: 'fixer-01ABC' });
    assert.deepEqual(parseSnapshotRef('job-1/0@3'), { runId: 'job-1/0', turn: 3 });
    assert.equal(parseSnapshotRef('@3'), undefined);
    assert.equal(runTenant('acme', { tenant: 'globex' }), 'acme', 'the start option wins');
    assert.equal(runTenant(undefined, { tenantId: 7 }), '7', 'else the context, as memory scopes read it');
  });

  test('keel run flags make a workspace', () => {
    const ws = workspaceFromFlags({
      repo: ['https://g.example/o/api.git#v2', 'web=https://g.example/o/site'],
      'repo-auth': 'GH_TOKEN',
      file: ['in/brief.md=hello'],
      'from-snapshot': 'r-1@2',
    });
    assert.deepEqual(ws, {
      entries: {
        api: { type: 'gitRepo', url: 'https://g.example/o/api.git', ref: 'v2', auth: { $secret: 'GH_TOKEN' } },
        web: { type: 'gitRepo', url: 'https://g.example/o/site', auth: { $secret: 'GH_TOKEN' } },
        'in/brief.md': { type: 'file', content: 'hello' },
      },
      fromSnapshot: 'r-1@2',
    });
    assert.equal(workspaceFromFlags({}), undefined);
  });
});
