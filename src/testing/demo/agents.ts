/**
 * The demo agents: a weather agent with a function tool, and a sandbox agent that fixes a failing test in a
 * small seeded git repository. With OPENAI_API_KEY set they use a real model; otherwise the scripted one.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../agents/agent.js';
import { filesystem, shell } from '../../agents/capabilities.js';
import { gitRepo } from '../../agents/manifest.js';
import { tool } from '../../agents/tool.js';
import { keelHome } from '../../util/paths.js';

const scripted = !process.env.OPENAI_API_KEY;

const getWeather = tool({
  name: 'get_weather',
  description: 'Current weather for a city.',
  parameters: z.object({ city: z.string().describe('City name') }),
  execute: ({ city }) => {
    const table: Record<string, { sky: string; celsius: number }> = {
      paris: { sky: 'sunny', celsius: 21 },
      oslo: { sky: 'rain', celsius: 9 },
    };
    return { city, ...(table[city.toLowerCase()] ?? { sky: 'cloudy', celsius: 15 }) };
  },
});

export const weatherAgent = new Agent({
  name: 'weather',
  instructions: 'You answer questions about the weather. Use get_weather, then answer in one sentence.',
  model: scripted ? 'demo-weather' : undefined,
  tools: [getWeather],
});

/** Where the demo's seeded repository is created (see seedDemoRepo): `.keel/demo-repo`, under KEEL_HOME when set. */
export const DEMO_REPO_DIR = path.join(keelHome(), 'demo-repo');

export const fixerAgent = new SandboxAgent({
  name: 'fixer',
  instructions:
    'You fix failing tests in the repository at /workspace/repo. Run the tests, read the code, fix it with apply_patch, ' +
    'show `git diff`, run the tests again (`python3 -m unittest`), then summarize the fix.',
  model: scripted ? 'demo-fixer' : undefined,
  maxTurns: 12,
  manifest: { entries: { repo: gitRepo({ url: DEMO_REPO_DIR }) } },
  capabilities: [filesystem(), shell()],
});

export const demoAgents = [weatherAgent, fixerAgent];
