import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKFLOW_CACHE_SIZE, checkedCacheSize, workflowCacheSizeFromEnv } from '../../src/worker-cache.js';

test('KEEL_WORKFLOW_CACHE_SIZE: unset means the default, a whole number is taken, anything else is one clear error', () => {
  assert.equal(workflowCacheSizeFromEnv({}), DEFAULT_WORKFLOW_CACHE_SIZE);
  assert.equal(workflowCacheSizeFromEnv({ KEEL_WORKFLOW_CACHE_SIZE: '' }), DEFAULT_WORKFLOW_CACHE_SIZE);
  assert.equal(workflowCacheSizeFromEnv({ KEEL_WORKFLOW_CACHE_SIZE: '0' }), 0);
  assert.equal(workflowCacheSizeFromEnv({ KEEL_WORKFLOW_CACHE_SIZE: '250' }), 250);
  for (const bad of ['-1', '1.5', 'lots']) {
    assert.throws(
      () => workflowCacheSizeFromEnv({ KEEL_WORKFLOW_CACHE_SIZE: bad }),
      new RegExp(
        `KEEL_WORKFLOW_CACHE_SIZE must be a whole number of runs \\(0 or more\\), not '${bad.replace('.', '\\.')}'`,
      ),
    );
  }
  assert.throws(() => checkedCacheSize(-3), /workflowCacheSize must be a whole number/);
});
