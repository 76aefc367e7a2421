/**
 * `keel demo` / `npm run demo`: start the embedded stack, run the weather agent and the sandbox fixer agent to
 * completion, print what happened with links into the Web UI, shut down. Exits 1 with one line when the weather
 * run did not complete or the fixer's last test command did not pass.
 */
import { RunFailedError } from '../../client.js';
import { startDevStack, webUiLink, type DevStack } from '../../embedded/stack.js';
import type { RunState } from '../../workflows/run-state.js';
import { DEMO_REPO_DIR, demoAgents, fixerAgent, weatherAgent } from './agents.js';
import { demoScripts } from './scripts.js';
import { startScriptedModelServer } from '../scripted-model.js';
import { seedDemoRepo } from './seed.js';
import { fixerReport, runProblem, type FixerReport } from './fixer-report.js';

function report(stack: DevStack, state: RunState): void {
  console.log(`  run id:       ${state.runId}`);
  console.log(
    `  final output: ${typeof state.finalOutput === 'string' ? state.finalOutput : JSON.stringify(state.finalOutput)}`,
  );
  console.log(
    `  usage:        ${state.usage.inputTokens} in + ${state.usage.outputTokens} out = ${state.usage.totalTokens} tokens over ${state.usage.requests} model calls`,
  );
  if (stack.uiUrl) console.log(`  Web UI:       ${webUiLink(stack.uiUrl, state.runId)}`);
}

/** The fixer's commands, the diff it showed and its last test command's result (the tail of its output). */
function printFix(fix: FixerReport): void {
  console.log('  commands run in the sandbox:');
  for (const c of fix.commands)
    console.log(`    $ ${c.cmd}${c.exitCode === undefined ? '' : `   (exit ${c.exitCode})`}`);
  console.log(fix.diff ? `  resulting diff:\n${indent(fix.diff)}` : '  resulting diff: (the agent showed none)');
  if (!fix.lastTest) return console.log('  last test command: (none ran)');
  console.log(`  last test command: ${fix.lastTest.cmd} -> exit ${fix.lastTest.exitCode ?? '?'}`);
  const shown = fix.lastTest.output
    .replace(/^exit code: .*\n/, '')
    .split('\n')
    .slice(-8)
    .join('\n')
    .trimEnd();
  console.log(indent(shown).replace(/^ +$/gm, ''));
}

const indent = (text: string) => text.replace(/^/gm, '    ');

async function runOne(stack: DevStack, agent: typeof weatherAgent, input: string): Promise<RunState> {
  const id = await stack.client.startRun(agent, input);
  console.log(`\n▶ ${agent.name}: "${input}"`);
  try {
    await stack.client.result(id);
  } catch (err) {
    if (!(err instanceof RunFailedError)) throw err;
  }
  return stack.client.getState(id);
}

export async function runDemo(): Promise<number> {
  seedDemoRepo(DEMO_REPO_DIR);
  const stack = await startDevStack({
    agents: demoAgents,
    offlineModel: () => startScriptedModelServer({ scripts: demoScripts }),
    log: (l) => console.log(l),
  });
  try {
    const weather = await runOne(stack, weatherAgent, 'What is the weather in Paris?');
    report(stack, weather);

    const fixer = await runOne(stack, fixerAgent, 'The tests in repo/ fail. Fix them.');
    const fix = fixerReport(fixer);
    printFix(fix);
    report(stack, fixer);
    const problems = [
      ...(runProblem(weather) ? [`weather: ${runProblem(weather)}`] : []),
      ...(fix.problem ? [`fixer: ${fix.problem}`] : []),
    ];
    if (problems.length) console.error(`demo failed: ${problems.join('; ')}`);
    return problems.length ? 1 : 0;
  } finally {
    await stack.close();
  }
}
