/**
 * Long runs without compaction: a 1,000-turn run (a ~1.5 KB tool result per turn) continuing as new every 10 turns.
 * `continueAsNewInputBytesAt1000Turns` is the input of its last continue-as-new (items by reference: flat);
 * `...Before` what that input would have been with every item inline, as continue-as-new carried it before (that
 * input plus the archived items' JSON), which past Temporal's 2 MB payload limit ends the run.
 */
import { continuedAsNewInputBytes, historyChain } from '../../test/helpers/history.js';
import { noteAgent, noteScript } from '../../test/helpers/long-run.js';
import { queueFor, type TestStack } from '../../test/helpers/stack.js';

const TURNS = 1000;
const EVERY = 10;

export default async function longRunFigures(stack: TestStack): Promise<Record<string, number>> {
  stack.model.setScript('bench-long-1000', noteScript(TURNS));
  const queue = queueFor('bench-long-runs');
  const worker = await stack.worker([noteAgent('benchlong1000', 'bench-long-1000', TURNS)], queue);
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const started = performance.now();
    const id = await client.startRun('benchlong1000', 'go', { continueAsNewEveryTurns: EVERY });
    const result = await client.result(id);
    const ms = performance.now() - started;
    if (result.turns !== TURNS) throw new Error(`the run took ${result.turns} turns, not ${TURNS}`);
    const chain = await historyChain(client.temporal, id);
    const inputs = chain.slice(0, -1).map((h) => continuedAsNewInputBytes(h));
    const recent = await client.getState(id, { items: 'recent' });
    const all = await client.getState(id);
    const archivedBytes = Buffer.byteLength(JSON.stringify(all.items.slice(0, all.items.length - recent.items.length)));
    return {
      continueAsNewInputBytesAt1000Turns: inputs.at(-1)!,
      continueAsNewInputBytesAt1000TurnsBefore: inputs.at(-1)! + archivedBytes,
      continueAsNewInputBytesMaxAt1000Turns: Math.max(...inputs),
      longRun1000TurnsMs: Math.round(ms),
    };
  });
}
