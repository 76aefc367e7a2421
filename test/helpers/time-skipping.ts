/**
 * The stack for timer-bound tests (approval and idle timeouts, webhook retries): Temporal's time-skipping test
 * server (Java, fetched from Maven by scripts/ensure-test-server.sh) under `TestWorkflowEnvironment`, with Keel's
 * search attributes registered, and the same scripted model, workflow bundle and real Keel workers as every other
 * stack. Time stands still until a test awaits a workflow's result (`client.result`) or calls `testEnv.sleep`; then
 * the server jumps to the next timer, so an hours-long timeout takes no real time. It never jumps while an activity
 * or workflow task is outstanding, so a model call is not timed out by a jump.
 *
 * What the test server (1.27.0) lacks, so the tests that need it stay on the dev server: ListWorkflowExecutions
 * (visibility queries: `client.list`, `keel ls`, `KeelStatus = ...` views) and DescribeTaskQueue (the sandbox tier
 * check) are not among its methods; it advertises no heartbeat-details capability (Core warns at worker start). It
 * does serve what a run uses: updates (`send`, `decide`), signals, queries, custom search attributes (registered
 * below, read back by `describe`).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Script } from '../../src/testing/script.js';
import { KEEL_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';
import { installTestRuntime, stackOn, type TestStack } from './stack.js';

const REPO = path.join(import.meta.dirname, '..', '..');

export interface TimeSkippingStack extends TestStack {
  /** The environment: `testEnv.currentTimeMs()` is the server's clock, `testEnv.sleep(ms)` skips time by hand. */
  testEnv: TestWorkflowEnvironment;
}

export async function startTimeSkippingStack(scripts: Record<string, Script> = {}): Promise<TimeSkippingStack> {
  installTestRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerLauncher() } },
  });
  try {
    await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const server = {
    address: env.address,
    connection: env.nativeConnection,
    clientConnection: env.connection,
    temporal: env.client,
    teardown: () => env.teardown(),
  };
  return { ...(await stackOn(server, scripts)), testEnv: env };
}

/** The launcher scripts/ensure-test-server.sh keeps under .keel/test-server/<version>/ (fetched when missing). */
function testServerLauncher(): string {
  const script = path.join(REPO, 'scripts', 'ensure-test-server.sh');
  return execFileSync('bash', [script], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop()!;
}

/** The dev server gets them as `--search-attribute` flags; the test server through its operator service. */
async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { IndexedValueType } = proto.temporal.api.enums.v1;
  const searchAttributes = Object.fromEntries(
    KEEL_SEARCH_ATTRIBUTES.map((key) => [key.name, IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}
