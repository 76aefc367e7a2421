/**
 * What the scripted model answers for the demo agents: the same tool calls a real model would make.
 */
import type { Script } from '../script.js';

export const demoScripts: Record<string, Script> = {
  'demo-weather': {
    steps: [
      {
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }],
        usage: { inputTokens: 120, outputTokens: 18 },
      },
      { message: 'It is sunny in Paris, 21 °C.', usage: { inputTokens: 160, outputTokens: 12 } },
    ],
  },
  'demo-fixer': {
    steps: [
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'python3 -m unittest -q', workdir: 'repo' } }] },
      { toolCalls: [{ name: 'read_file', arguments: { path: 'repo/calc.py' } }] },
      {
        toolCalls: [
          {
            name: 'apply_patch',
            arguments: {
              patch: [
                '*** Begin Patch',
                '*** Update File: repo/calc.py',
                '@@ def add(a, b):',
                '-    return a - b',
                '+    return a + b',
                '*** End Patch',
              ].join('\n'),
            },
          },
        ],
      },
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'git diff', workdir: 'repo' } }] },
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'python3 -m unittest -q', workdir: 'repo' } }] },
      { message: 'Fixed `add` in calc.py: it subtracted instead of adding. The tests pass now.' },
    ],
  },
};
