/**
 * The floor under Keel's turn overhead: a bare workflow running trivial activities one after another.
 */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<number> }>({ startToCloseTimeout: '1 minute' });

export async function baseline(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await noop();
}
