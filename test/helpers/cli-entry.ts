// Runs the CLI from the sources (tests that need no build): `node --import tsx test/helpers/cli-entry.ts ...args`.
import { runCli } from '../../src/cli.js';

runCli(process.argv.slice(2));
