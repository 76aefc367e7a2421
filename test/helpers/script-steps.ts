/**
 * Scripted model calls of the built-in `exec_command` tool, as sandbox tests write their scripts: the call alone
 * (`toolCalls: [execCall('ls')]`) or a step whose one action it is (`steps: [execStep('ls'), ...]`).
 */
export const execCall = (cmd: string) => ({ name: 'exec_command', arguments: { cmd } });

export const execStep = (cmd: string) => ({ toolCalls: [execCall(cmd)] });
