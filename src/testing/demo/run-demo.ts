/**
 * `keel demo` / `npm run demo`: start the embedded stack, run the weather agent and the sandbox fixer agent to
 * completion, print what happened with links into the Web UI, shut down.
 */
import { RunFailedError } from '../../client.js';
import { startDevStack, webUiLink, type DevStack } from '../../embedded/stack.js';
import type { RunState } from '../../workflows/run-state.js';
import { DEMO_REPO_DIR, demoAgents, fixerAgent, weatherAgent } from './agents.js';
import { demoScripts } from './scripts.js';
import { startScriptedModelServer } from '../scripted-model.js';
import { seedDemoRepo } from './seed.js';

function report(stack: DevStack, state: RunState): void {
  console.log(`  run id:       ${state.runId}`);
  console.log(`  final output: ${typeof state.finalOutput === 'string' ? state.finalOutput : JSON.stringify(state.finalOutput)}`);
  console.log(`  usage:        ${state.usage.inputTokens} in + ${state.usage.outputTokens} out = ${state.usage.totalTokens} tokens over ${state.usage.requests} model calls`);
  if (stack.uiUrl) console.log(`  Web UI:       ${webUiLink(stack.uiUrl, state.runId)}`);
}

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
  const stack = await startDevStack({ agents: demoAgents, offlineModel: () => startScriptedModelServer({ scripts: demoScripts }), log: (l) => console.log(l) });
  try {
    const weather = await runOne(stack, weatherAgent, 'What is the weather in Paris?');
    report(stack, weather);

    const fixer = await runOne(stack, fixerAgent, 'The tests in repo/ fail. Fix them.');
    const commands = fixer.items.filter((i) => i.type === 'tool_call' && i.name === 'exec_command').map((i) => (JSON.parse((i as { arguments: string }).arguments) as { cmd: string }).cmd);
    console.log('  commands run in the sandbox:');
    for (const c of commands) console.log(`    $ ${c}`);
    const diff = fixer.items
      .filter((i) => i.type === 'tool_result')
      .map((i) => (i as { output: string }).output)
      .reverse()
      .find((o) => o.includes('diff --git'));
    if (diff) {
      const body = diff.slice(diff.indexOf('diff --git')).split('\nstderr:')[0].trimEnd();
      console.log(`  resulting diff:\n${body.replace(/^/gm, '    ')}`);
    }
    report(stack, fixer);
    const ok = weather.status === 'completed' && fixer.status === 'completed';
    if (!ok) console.error(`demo failed: ${[weather, fixer].map((s) => `${s.agent}: ${s.status}${s.error ? ` (${s.error.message})` : ''}`).join('; ')}`);
    return ok ? 0 : 1;
  } finally {
    await stack.close();
  }
}
