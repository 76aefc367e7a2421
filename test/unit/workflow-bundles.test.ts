/**
 * The workflow bundle: every run shares Keel's workflow modules (preloaded once per worker, not evaluated per run),
 * which is only safe while they keep no mutable state at module level; and a prebuilt bundle is used only with the
 * Temporal versions it was built with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import vm from 'node:vm';
import { bundleWorkflowCode } from '@temporalio/worker';
import {
  prebuiltWorkflowBundle,
  sourceKey,
  splitSourceMap,
  temporalVersions,
  workflowBundleOptions,
} from '../../src/workflow-bundles.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');

/** Evaluates a bundle the way Temporal's reusable V8 context does: modules loaded before the first run are shared. */
function modulesOfOneRun(code: string): { shared: string[]; perRun: string[] } {
  const cache: Record<string, unknown> = {};
  const context = vm.createContext({});
  Object.defineProperty(context, '__webpack_module_cache__', { value: cache });
  vm.runInContext(code, context);
  vm.runInContext('__TEMPORAL__.preloadModules?.()', context);
  const shared = Object.keys(cache);
  vm.runInContext('__TEMPORAL__.importWorkflows()', context);
  return { shared, perRun: Object.keys(cache).filter((m) => !shared.includes(m)) };
}

const bundled = bundleWorkflowCode(workflowBundleOptions(false)).then((b) => b.code);

test('a run of the plain bundle evaluates no module of its own: Keel workflows and the SDK are shared', async () => {
  const { shared, perRun } = modulesOfOneRun(await bundled);
  assert.deepEqual(perRun, []);
  assert.ok(shared.includes('./src/workflows/agent-run.ts'), 'the workflow modules are among the shared ones');
});

test('the tracing bundle preloads nothing: its interceptors register a tracer provider per run', () => {
  assert.deepEqual(workflowBundleOptions(true).preloadModules, []);
  assert.deepEqual(workflowBundleOptions(false).preloadModules, [workflowBundleOptions(false).workflowsPath]);
});

/** Top-level declarations whose state would be shared by every run (exported objects are frozen; closures are not). */
const MUTABLE_AT_TOP =
  /^(export\s+)?(let|var)\s|^(export\s+)?const\s+\w+(\s*:[^=]+)?=\s*(new\s+(Map|Set|WeakMap|WeakSet|Array)\b|\[\s*\];)/m;

test('Keel modules in the bundle keep no mutable state at module level', async () => {
  const own = [...(await bundled).matchAll(/^\/\*\*\*\/ "\.\/(src\/[^"]+\.ts)"$/gm)].map((m) => m[1]);
  assert.ok(own.length > 20, `found ${own.length} Keel modules in the bundle`);
  const offenders = own.filter((file) => MUTABLE_AT_TOP.test(readFileSync(path.join(REPO, file), 'utf8')));
  assert.deepEqual(
    offenders,
    [],
    'module-level let/var/Map/Set would be shared by every run in a worker: keep it in the run',
  );
});

test('a prebuilt bundle is used only with the Temporal versions it was built with', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-bundles-'));
  try {
    assert.equal(prebuiltWorkflowBundle(false, dir), undefined, 'none written: bundle from source');
    writeFileSync(path.join(dir, 'workflow-bundle.js'), 'var __TEMPORAL__;');
    writeFileSync(path.join(dir, 'workflow-bundle.json'), JSON.stringify({ temporal: temporalVersions() }));
    assert.deepEqual(prebuiltWorkflowBundle(false, dir), { code: 'var __TEMPORAL__;' });
    assert.equal(prebuiltWorkflowBundle(true, dir), undefined, 'no tracing bundle written');
    writeFileSync(
      path.join(dir, 'workflow-bundle.json'),
      JSON.stringify({ temporal: { ...temporalVersions(), '@temporalio/worker': '0.0.1' } }),
    );
    assert.equal(prebuiltWorkflowBundle(false, dir), undefined, 'another worker version: bundle from source');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('running from the sources finds no prebuilt bundle', () => {
  assert.equal(prebuiltWorkflowBundle(false), undefined);
  assert.equal(prebuiltWorkflowBundle(true), undefined);
});

test('the cache key of a bundle from the sources follows every source file and the flavour', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-key-'));
  try {
    const src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'workflows'), { recursive: true });
    writeFileSync(path.join(src, 'workflows', 'a.ts'), 'export const a = 1;');
    const first = sourceKey(false, src);
    assert.equal(sourceKey(false, src), first, 'the same sources, the same key');
    assert.notEqual(sourceKey(true, src), first, 'the tracing bundle is another');
    writeFileSync(path.join(src, 'workflows', 'a.ts'), 'export const a = 2;');
    assert.notEqual(sourceKey(false, src), first, 'a changed file, a new key');
    writeFileSync(path.join(src, 'workflows', 'a.ts'), 'export const a = 1;');
    writeFileSync(path.join(dir, 'package-lock.json'), '{}');
    assert.notEqual(sourceKey(false, src), first, 'a changed lockfile, a new key');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a shipped bundle keeps its source map beside it and a stub inline (the worker requires one and would keep a real one resident)', () => {
  const realMap = { version: 3, sources: ['src/workflows/agent-run.ts'], names: [], mappings: 'AAAA' };
  const inline = `//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(realMap)).toString('base64')}`;
  const { code, map } = splitSourceMap(`exports.x = 1;\n${inline}\n`);
  assert.deepEqual(JSON.parse(map), realMap);
  assert.ok(code.startsWith('exports.x = 1;\n'));
  const stub = JSON.parse(Buffer.from(code.split('base64,')[1], 'base64').toString('utf8'));
  assert.deepEqual(stub.sources, []);
  assert.equal(stub.sourceRoot, '');
  assert.throws(() => splitSourceMap('exports.x = 1;\n'), /no inline source map/);
});
