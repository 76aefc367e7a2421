/**
 * `keel`: the command line. Exit codes: 0 ok, 1 the run failed, 2 bad usage. Errors are one line on stderr.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createConnection } from 'node:net';
import { parseArgs } from 'node:util';
import { NativeConnection } from '@temporalio/worker';
import type { Agent } from './agents/agent.js';
import { KeelClient, RunFailedError } from './client.js';
import { runDemo } from './testing/demo/run-demo.js';
import { demoAgents } from './testing/demo/agents.js';
import { demoScripts } from './testing/demo/scripts.js';
import { startScriptedModelServer } from './testing/scripted-model.js';
import { startDevStack, webUiLink } from './embedded/stack.js';
import { KeelError } from './errors.js';
import { createWorker } from './worker.js';
import { gcCommand } from './cli/gc.js';
import type { RunStatus } from './workflows/run-state.js';

const USAGE = `usage: keel <command> [options]
  dev                                   run the embedded stack (Temporal + Web UI, worker, scripted model) in the foreground
  worker                                run a worker against TEMPORAL_ADDRESS
  run <agent> <input> [--wait] [--id ID] [--context JSON]
  approve <runId> [<callId>|--all] --by NAME [--reason TEXT] [--always]
  reject  <runId> [<callId>|--all] --by NAME [--reason TEXT] [--always]
  state <runId> [--json]
  ls [--status STATUS] [--agent NAME]
  cancel <runId>
  resume --from state.json [--id ID]
  fork <runId> --turn N [--id ID]
  gc [--dry-run] [--min-age HOURS]      delete blobs and snapshots no retained run references (default min age 24 h)
  demo                                  run the demo agents end to end and shut down
options: --agents FILE (a module exporting \`agents\`; default: the demo agents; or KEEL_AGENTS)`;

class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

async function loadAgents(file: string | undefined): Promise<Agent[]> {
  const target = file ?? process.env.KEEL_AGENTS;
  if (!target) return demoAgents;
  const mod = (await import(path.resolve(target))) as { agents?: Agent[]; default?: Agent[] | { agents?: Agent[] } };
  const agents = mod.agents ?? (Array.isArray(mod.default) ? mod.default : mod.default?.agents);
  if (!Array.isArray(agents)) usage(`${target} must export \`agents\` (an array of Agent)`);
  return agents;
}

async function connectClient(): Promise<KeelClient> {
  const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  try {
    return await KeelClient.connect({ address, connectTimeoutMs: 3_000 });
  } catch {
    throw new KeelError('bad_usage', `cannot reach Temporal at ${address}: start the stack with \`npx keel dev\` or set TEMPORAL_ADDRESS`);
  }
}

/** Whether something accepts TCP connections at host:port (a running `keel dev`). */
function reachable(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function decide(decision: 'approve' | 'reject', positionals: string[], values: Record<string, unknown>): Promise<void> {
  const [runId, callId] = positionals;
  if (!runId) usage(`${decision} needs a run id`);
  if (typeof values.by !== 'string' || !values.by) usage(`${decision} needs --by NAME (who decides)`);
  if (!callId && !values.all) usage(`${decision} needs a callId or --all`);
  const client = await connectClient();
  const options = { by: values.by, reason: values.reason as string | undefined, always: Boolean(values.always) };
  const results = values.all ? await client.decideAll(runId, decision, options) : [await client[decision](runId, callId, options)];
  if (results.length === 0) console.log(`run ${runId} has no pending approvals`);
  for (const r of results) console.log(`${r.decision === 'approve' ? 'approved' : 'rejected'} ${r.callId}${r.stillPending.length ? ` (still pending: ${r.stillPending.join(', ')})` : ''}`);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      wait: { type: 'boolean' },
      id: { type: 'string' },
      context: { type: 'string' },
      all: { type: 'boolean' },
      by: { type: 'string' },
      reason: { type: 'string' },
      always: { type: 'boolean' },
      json: { type: 'boolean' },
      status: { type: 'string' },
      agent: { type: 'string' },
      from: { type: 'string' },
      turn: { type: 'string' },
      agents: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      'dry-run': { type: 'boolean' },
      'min-age': { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case 'demo':
      return runDemo();
    case 'dev': {
      const stack = await startDevStack({ agents: await loadAgents(values.agents), offlineModel: () => startScriptedModelServer({ scripts: demoScripts }), log: (l) => console.log(l) });
      console.log(`Keel dev stack ready: Temporal ${stack.address}${stack.uiUrl ? `, Web UI ${stack.uiUrl}` : ''}. Ctrl-C stops it.`);
      await Promise.race([waitForSignal(), stack.runWorker]);
      await stack.close();
      return 0;
    }
    case 'worker': {
      const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
      const worker = await createWorker({ agents: await loadAgents(values.agents), connection });
      console.log(`worker polling '${worker.taskQueue}' and '${worker.hostQueue}'`);
      process.once('SIGINT', () => worker.shutdown());
      process.once('SIGTERM', () => worker.shutdown());
      try {
        await worker.run();
      } finally {
        await connection.close();
      }
      return 0;
    }
    case 'run': {
      const [agent, input] = rest;
      if (!agent || input === undefined) usage('run needs <agent> and <input>');
      let context: unknown;
      if (values.context !== undefined) {
        try {
          context = JSON.parse(values.context);
        } catch {
          usage('--context must be JSON');
        }
      }
      // With --wait and no server to talk to, run on an embedded stack for the length of the command.
      const embedded = values.wait && !process.env.TEMPORAL_ADDRESS && !(await reachable('localhost:7233'))
        ? await startDevStack({ agents: await loadAgents(values.agents), offlineModel: () => startScriptedModelServer({ scripts: demoScripts }), log: (l) => console.error(l) })
        : undefined;
      try {
        const client = embedded?.client ?? (await connectClient());
        const id = await client.startRun(agent, input, { id: values.id, context });
        console.log(id);
        if (!values.wait) return 0;
        const result = await client.result(id);
        console.log(typeof result.finalOutput === 'string' ? result.finalOutput : JSON.stringify(result.finalOutput, null, 2));
        return 0;
      } finally {
        await embedded?.close();
      }
    }
    case 'approve':
    case 'reject':
      await decide(command, rest, values);
      return 0;
    case 'state': {
      if (!rest[0]) usage('state needs a run id');
      const state = await (await connectClient()).getState(rest[0]);
      if (values.json) {
        console.log(JSON.stringify(state, null, 2));
      } else {
        console.log(`${state.runId}  agent=${state.agent}  status=${state.status}  turn=${state.turn}  tokens=${state.usage.totalTokens}`);
        for (const p of state.pendingApprovals) console.log(`  pending ${p.callId} ${p.tool} ${p.arguments}`);
        if (state.finalOutput !== undefined) console.log(`  output: ${JSON.stringify(state.finalOutput)}`);
        if (state.error) console.log(`  error: ${state.error.type}: ${state.error.message}`);
      }
      return state.status === 'failed' ? 1 : 0;
    }
    case 'ls': {
      const runs = await (await connectClient()).list({ status: values.status as RunStatus | undefined, agent: values.agent });
      for (const r of runs) console.log(`${r.runId}  ${r.agent ?? '-'}  ${r.status ?? '-'}  ${r.totalTokens ?? 0} tokens  ${r.startTime.toISOString()}`);
      return 0;
    }
    case 'cancel':
      if (!rest[0]) usage('cancel needs a run id');
      await (await connectClient()).cancel(rest[0]);
      console.log(`cancel requested for ${rest[0]}`);
      return 0;
    case 'resume': {
      if (!values.from) usage('resume needs --from state.json');
      let state: unknown;
      try {
        state = JSON.parse(await readFile(values.from, 'utf8'));
      } catch (err) {
        usage(`cannot read ${values.from}: ${(err as Error).message}`);
      }
      console.log(await (await connectClient()).resumeFrom(state, { id: values.id }));
      return 0;
    }
    case 'fork': {
      const turn = Number(values.turn);
      if (!rest[0] || values.turn === undefined || !Number.isInteger(turn)) usage('fork needs <runId> --turn N');
      console.log(await (await connectClient()).fork(rest[0], turn, { id: values.id }));
      return 0;
    }
    case 'gc':
      console.log(await gcCommand((await connectClient()).temporal, { dryRun: values['dry-run'], minAgeHours: values['min-age'] }));
      return 0;
    default:
      usage(`unknown command '${command}'`);
  }
}

export { webUiLink };

/** Runs the CLI and exits with its code (0 ok, 1 run failed, 2 bad usage). */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
        console.error(`keel: ${err.message} (see keel --help)`);
        process.exit(2);
      }
      if (err instanceof RunFailedError) {
        console.error(`keel: run failed: ${err.type}: ${err.message}`);
        process.exit(1);
      }
      if (err instanceof KeelError) {
        console.error(`keel: ${err.message}`);
        process.exit(err.code === 'bad_usage' ? 2 : 1);
      }
      console.error(`keel: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

