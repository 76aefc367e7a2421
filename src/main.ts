/** Entry point of the `keel` command. */
import { runCli } from './cli.js';

runCli(process.argv.slice(2));
