/** `keel run <agent> <input>`: starts a run, checks a worker took it, and with --wait prints the final output. */
import { acceptsConnections } from '../util/free-port.js';
import { temporalConfigured, temporalTarget } from '../connection.js';
import { connectClient, str, usage, type Command, type Values } from './command.js';
import { startCliStack } from './dev.js';
import { budgetProblem, type Budget } from '../agents/budget.js';
import { awaitWorkspace, workspaceFromFlags, WORKSPACE_FLAGS } from './run-workspace.js';

/** `--context JSON`, parsed (bad usage when it is not JSON). */
/** Whether something listens at host:port (a running `keel dev`). */
function reachable(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return acceptsConnections(Number(port), host);
}

export function parseContext(values: Values): unknown {
  const raw = str(values, 'context');
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    usage('--context must be JSON');
  }
}

/** `--max-tokens N --max-cost USD [--on-exceed fail|ask]` as a budget (bad usage when they do not make one). */
export function parseBudget(values: Values): Budget | undefined {
  const tokens = str(values, 'max-tokens');
  const cost = str(values, 'max-cost');
  const onExceed = str(values, 'on-exceed');
  if (tokens === undefined && cost === undefined) {
    if (onExceed !== undefined) usage('--on-exceed needs --max-tokens or --max-cost');
    return undefined;
  }
  const budget = {
    ...(tokens !== undefined ? { maxTokens: Number(tokens) } : {}),
    ...(cost !== undefined ? { maxCostUsd: Number(cost) } : {}),
    onExceed: onExceed ?? 'fail',
  };
  const problem = budgetProblem(budget, 'the budget');
  if (problem)
    usage(
      problem
        .replace('maxTokens', '--max-tokens')
        .replace('maxCostUsd', '--max-cost')
        .replace('onExceed', '--on-exceed'),
    );
  return budget as Budget;
}

export const run: Command = {
  name: 'run',
  usage:
    'run <agent> <input> [--wait] [--id ID] [--context JSON] [--tenant NAME] [--repo [PATH=]URL[#REF]]... [--repo-auth SECRET] [--file PATH=@LOCAL]... [--from-snapshot RUN[@TURN]] [--agents FILE] [--max-tokens N] [--max-cost USD] [--on-exceed fail|ask]',
  options: {
    wait: { type: 'boolean' },
    id: { type: 'string' },
    context: { type: 'string' },
    tenant: { type: 'string' },
    agents: { type: 'string' },
    'max-tokens': { type: 'string' },
    'max-cost': { type: 'string' },
    'on-exceed': { type: 'string' },
    ...WORKSPACE_FLAGS,
  },
  async run([agent, input], values) {
    if (!agent || input === undefined) usage('run needs <agent> and <input>');
    const context = parseContext(values);
    const budget = parseBudget(values);
    const workspace = workspaceFromFlags(values);
    // With --wait and no server to talk to, run on an embedded stack for the length of the command.
    const local = values.wait && !temporalConfigured() && !(await reachable(temporalTarget().connection.address));
    const embedded = local ? await startCliStack(values, (l) => console.error(l)) : undefined;
    try {
      const client = embedded?.client ?? (await connectClient());
      const id = await client.startRun(agent, input, {
        id: str(values, 'id'),
        context,
        workspace,
        tenant: str(values, 'tenant'),
        ...(budget ? { budget } : {}),
      });
      const started = await client.checkStarted(id);
      if (started === 'no-worker-yet')
        console.error(
          `keel: no worker has picked up ${id} yet; it starts when one polls task queue '${client.taskQueue}'`,
        );
      else if (workspace) await awaitWorkspace(client, id);
      console.log(id);
      if (!values.wait) return 0;
      const result = await client.result(id);
      console.log(
        typeof result.finalOutput === 'string' ? result.finalOutput : JSON.stringify(result.finalOutput, null, 2),
      );
      return 0;
    } finally {
      await embedded?.close();
    }
  },
};
