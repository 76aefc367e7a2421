/**
 * Runs the scripted model server on its own, for demos, other processes and other languages:
 * `node --import tsx src/dev/scripted-model-main.ts --port 8787 --script default=demo.json --script slow=slow.json`.
 * A `--script path.json` without a name loads it as `default`. More scripts can be PUT to `/_keel/scripts/<name>`.
 */
import { parseArgs } from 'node:util';
import { KeelError } from '../errors.js';
import { loadScriptFile, type Script } from './script.js';
import { startScriptedModelServer } from './scripted-model.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      script: { type: 'string', multiple: true, default: [] },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new KeelError('bad_usage', `--port: not a port: ${values.port}`);

  const scripts: Record<string, Script> = {};
  for (const flag of values.script) {
    const eq = flag.indexOf('=');
    const [name, path] = eq > 0 ? [flag.slice(0, eq), flag.slice(eq + 1)] : ['default', flag];
    scripts[name] = await loadScriptFile(path);
  }

  const server = await startScriptedModelServer({ port, host: values.host, scripts });
  const names = Object.keys(scripts);
  console.log(server.baseURL);
  console.error(
    `scripted model server listening; scripts: ${names.length ? names.join(', ') : '(none; PUT /_keel/scripts/<name>)'}`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof KeelError ? err.message : err);
  process.exit(1);
});
