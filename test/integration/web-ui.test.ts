/**
 * The run as the real Temporal Web UI shows it (the dev server's UI, started on for this file), read in headless
 * Chromium: a waiting run found by the KeelStatus filter, its summary (agent and what it was asked, `<tags>` and
 * `--` intact), its current details with the exact approve command, and activity summaries carrying the tool's
 * arguments and the previous turn's failed call. A screenshot is kept under test-output/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { freePort } from '../../src/util/free-port.js';
import { waitFor, waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const OUTPUT = path.join(ROOT, 'test-output');

let stack: TestStack;
let browser: BrowserContext;
let uiUrl: string;
before(async () => {
  const chromiumPath = execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-chromium.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const uiPort = await freePort();
  uiUrl = `http://127.0.0.1:${uiPort}`;
  stack = await startTestStack({}, { uiPort });
  browser = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'keel-chromium-')), {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1000 },
  });
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

/** The page's text including its frames (the UI renders user Markdown in sandboxed frames). */
async function allText(page: Page): Promise<string> {
  const read = () =>
    (globalThis as unknown as { document: { body?: { innerText: string } } }).document.body?.innerText ?? '';
  const texts = await Promise.all(page.frames().map((f) => f.evaluate(read).catch(() => '')));
  return texts.join('\n');
}

async function waitForText(page: Page, what: string, pattern: RegExp): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      `the Web UI to show ${what}`,
      async () => {
        last = await allText(page);
        return pattern.test(last) ? last : undefined;
      },
      30_000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; the page showed:\n${last.replace(/\n\s*\n+/g, '\n').slice(0, 4000)}`);
  }
}

test('a run waiting for approval in the Web UI: filter, summary, approve command, activity summaries', async () => {
  stack.model.setScript('webui', {
    steps: [
      { toolCalls: [{ name: 'lookup', arguments: { key: 'eu-west' } }] },
      { toolCalls: [{ name: 'deploy', arguments: { env: 'prod --force' } }] },
      { message: 'Deployed.' },
    ],
  });
  const lookup = tool({
    name: 'lookup',
    description: 'look up',
    parameters: z.object({ key: z.string() }),
    execute: () => {
      throw new Error('directory offline');
    },
  });
  const deploy = tool({
    name: 'deploy',
    description: 'deploy',
    parameters: z.object({ env: z.string() }),
    needsApproval: true,
    execute: ({ env }) => `deployed ${env}`,
  });
  const agent = new Agent({
    name: 'deployer',
    instructions: 'Deploy carefully.',
    model: 'webui',
    tools: [lookup, deploy],
  });
  const queue = queueFor('web-ui');
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);
  await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'Deploy the <new> build to prod -- carefully');
    await waitForStatus(client, id, 'awaiting_approval');
    const { runId } = await client.temporal.workflow.getHandle(id).describe();
    const page = await browser.newPage();

    // The saved view of runs waiting for a human: the KeelStatus filter finds this one.
    await page.goto(
      `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`KeelStatus="awaiting_approval"`)}`,
    );
    await waitForText(page, 'the waiting run in the filtered list', new RegExp(id));

    await page.goto(`${uiUrl}/namespaces/default/workflows/${id}/${runId}/history`);
    await page.getByText('User Metadata').first().click();
    const meta = await waitForText(page, 'the current details', /Awaiting approval \(1\)/);
    assert.ok(
      meta.includes('deployer · Deploy the <new> build to prod -- carefully'),
      `summary as asked, got:\n${meta}`,
    );
    assert.ok(meta.includes(`keel approve ${id} call_1_0 --by YOUR_NAME`), 'the approve command, intact');
    assert.ok(meta.includes('deploy call_1_0: {"env":"prod --force"}'), 'the waiting call and its arguments, intact');
    mkdirSync(OUTPUT, { recursive: true });
    const png = path.join(OUTPUT, 'web-ui-awaiting-approval.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.ok(statSync(png).size > 10_000, 'a real screenshot');

    // Activity summaries in the event history: the tool's arguments in brief, and the failed call marked.
    await page.getByText('Event History').first().click();
    await waitForText(page, 'the tool call summary', /tool lookup · key=eu-west/);
    await waitForText(page, 'the failed call on the next model call', /model webui · turn 2 · after ✗ lookup failed/);
    await page.close();
    await client.approve(id, 'call_1_0', { by: 'ann' });
    await client.result(id);
  });
});
