/** `keel cancel`, `keel resume` and `keel fork`: ending a run, and starting new ones from an old one's state. */
import { readFile } from 'node:fs/promises';
import { connectClient, str, usage, type Command } from './command.js';

export const cancel: Command = {
  name: 'cancel',
  usage: 'cancel <runId>                 cancels the run (the sandbox is snapshotted and removed)',
  async run([runId]) {
    if (!runId) usage('cancel needs a run id');
    await (await connectClient()).cancel(runId);
    console.log(`cancel requested for ${runId}`);
    return 0;
  },
};

export const resume: Command = {
  name: 'resume',
  usage: 'resume --from state.json [--id ID]',
  options: { from: { type: 'string' }, id: { type: 'string' } },
  async run(_args, values) {
    const from = str(values, 'from');
    if (!from) usage('resume needs --from state.json');
    let state: unknown;
    try {
      state = JSON.parse(await readFile(from, 'utf8'));
    } catch (err) {
      usage(`cannot read ${from}: ${(err as Error).message}`);
    }
    console.log(await (await connectClient()).resumeFrom(state, { id: str(values, 'id') }));
    return 0;
  },
};

export const fork: Command = {
  name: 'fork',
  usage: 'fork <runId> --turn N [--id ID]',
  options: { turn: { type: 'string' }, id: { type: 'string' } },
  async run([runId], values) {
    const turn = Number(values.turn);
    if (!runId || values.turn === undefined || !Number.isInteger(turn)) usage('fork needs <runId> --turn N');
    console.log(await (await connectClient()).fork(runId, turn, { id: str(values, 'id') }));
    return 0;
  },
};
