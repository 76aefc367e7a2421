/**
 * The floors under Keel's figures: a bare workflow running trivial activities one after another (one activity round
 * trip), and a bare agent loop with Keel's shape of activities (resolve, then per turn a model call and a tool call,
 * the last turn a model call alone) but no Keel code in it, for `bareTurnsPerSec`.
 */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<number> }>({ startToCloseTimeout: '1 minute' });

export async function baseline(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await noop();
}

export async function bareTurns(turns: number): Promise<void> {
  await noop(); // resolve
  for (let turn = 1; turn < turns; turn++) {
    await noop(); // model
    await noop(); // tool
  }
  await noop(); // the last model call
}
