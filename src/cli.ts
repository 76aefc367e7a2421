/**
 * `keel`: the command line. Each command lives in src/cli/<file>.ts and is listed in COMMANDS. Exit codes: 0 ok,
 * 1 the run failed (or a server is unreachable), 2 bad usage. Errors are one line on stderr.
 */
import { parseArgs } from 'node:util';
import { RunFailedError } from './client.js';
import { KeelError } from './errors.js';
import { connectionReason, isTransportDump } from './connection.js';
import { UsageError, type Command } from './cli/command.js';
import { approve, reject } from './cli/decide.js';
import { demo, dev } from './cli/dev.js';
import { ls, state } from './cli/inspect.js';
import { cancel, fork, resume } from './cli/lifecycle.js';
import { run } from './cli/run.js';
import { worker } from './cli/worker.js';
import { keygen } from './cli/keygen.js';
import { codecServer } from './cli/codec-server.js';
import { audit } from './cli/audit.js';
import { watch } from './cli/watch.js';
import { chatCommand } from './cli/chat.js';
import { gc } from './cli/gc.js';
import { serveCommand } from './cli/serve.js';
import { diff, files } from './cli/files.js';

export { webUiLink } from './embedded/stack.js';

const COMMANDS: Command[] = [
  dev,
  worker,
  run,
  approve,
  reject,
  state,
  ls,
  cancel,
  resume,
  fork,
  watch,
  chatCommand,
  audit,
  files,
  diff,
  gc,
  demo,
  keygen,
  codecServer,
  serveCommand,
];

function usageText(): string {
  return [
    'usage: keel <command> [options]',
    ...COMMANDS.map((c) => `  ${c.usage}`),
    'Temporal: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS_* or a profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE)',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usageText());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}'`);
  const { positionals, values } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...command.options, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(`usage: keel ${command.usage}`);
    return 0;
  }
  return command.run(positionals, values);
}

function exitCodeFor(err: unknown): number {
  if (
    err instanceof UsageError ||
    (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
  )
    return 2;
  if (err instanceof KeelError) return err.code === 'bad_usage' || err.code === 'agent_not_found' ? 2 : 1;
  return 1;
}

function messageFor(err: unknown): string {
  if (
    err instanceof UsageError ||
    (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
  )
    return `${err.message} (see keel --help)`;
  if (err instanceof RunFailedError) return `run failed: ${err.type}: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  // A connection that fails after it was made (a worker's server going away) reaches here as a transport dump.
  return !(err instanceof KeelError) && isTransportDump(message)
    ? `lost the connection to Temporal (${connectionReason(message)})`
    : message;
}

/** Runs the CLI and exits with its code (0 ok, 1 run failed, 2 bad usage). */
export function runCli(argv: string[]): void {
  // The AWS SDK (KEEL_STORE=s3://) warns on Node < 22 about its future releases: not this command's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`keel: ${messageFor(err).split('\n')[0]}`);
      process.exit(exitCodeFor(err));
    },
  );
}
