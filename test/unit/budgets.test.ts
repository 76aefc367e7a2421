/** Budget and price arithmetic (pure): what a call costs, which budget applies, what a child is granted. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetProblem, spendText, tighterBudget } from '../../src/agents/budget.js';
import { DEFAULT_PRICES, priceTableProblem, withCost } from '../../src/activities/prices.js';
import { childGrant, extendedBudget, overBudget, requestedExtension } from '../../src/workflows/budget.js';
import type { ChildRun } from '../../src/workflows/tree.js';
import { decisionMessage, publicKeyText, signDecision, verifyDecision } from '../../src/agents/approver-keys.js';
import { EventPrinter } from '../../src/cli/render.js';
import { generateKeyPairSync } from 'node:crypto';
import { decisionProblem } from '../../src/workflows/approvals.js';
import { initialRunState } from '../../src/workflows/run-state.js';
import type { AgentSpec } from '../../src/agents/spec.js';

describe('budgets', { timeout: 10_000 }, () => {
  test('cost by model: cached input at its own price, dated snapshots as their model, unknown models flagged', () => {
    const u = { inputTokens: 1_000_000, outputTokens: 1_000_000, cachedInputTokens: 400_000 };
    assert.equal(withCost(u, 'gpt-4.1', DEFAULT_PRICES).costUsd, 0.6 * 2 + 0.4 * 0.5 + 8);
    assert.equal(
      withCost(u, 'gpt-4.1-2025-04-14', DEFAULT_PRICES).costUsd,
      withCost(u, 'gpt-4.1', DEFAULT_PRICES).costUsd,
    );
    assert.deepEqual(withCost({ inputTokens: 5, outputTokens: 1 }, 'qwen2.5-coder', DEFAULT_PRICES), {
      inputTokens: 5,
      outputTokens: 1,
      unpriced: true,
    });
    assert.equal(
      withCost({ inputTokens: 5, outputTokens: 1 }, 'toString', DEFAULT_PRICES).unpriced,
      true,
      'no prototype keys',
    );
    assert.match(priceTableProblem({ mine: { input: -1, output: 1 } })!, /prices\['mine'\]/);
    assert.equal(priceTableProblem({ mine: { input: 1, output: 2 } }), undefined);
  });

  test('bad budgets get one clear error', () => {
    assert.match(budgetProblem({ maxTokens: 10 })!, /onExceed must be 'fail' or 'ask'/);
    assert.match(budgetProblem({ onExceed: 'fail' })!, /needs maxTokens or maxCostUsd/);
    assert.match(budgetProblem({ maxTokens: 1.5, onExceed: 'fail' })!, /whole number/);
    assert.match(budgetProblem({ maxCostUsd: Number.NaN, onExceed: 'ask' })!, /maxCostUsd/);
    assert.match(budgetProblem({ maxTokens: 1, onExceed: 'fail', secret: 'x' })!, /unknown field 'secret'/);
    assert.equal(budgetProblem({ maxTokens: 0, maxCostUsd: 1, onExceed: 'ask' }), undefined);
  });

  test('the tighter budget applies, and fail wins over ask', () => {
    assert.deepEqual(
      tighterBudget({ maxTokens: 100, onExceed: 'ask' }, { maxTokens: 50, maxCostUsd: 2, onExceed: 'ask' }),
      { maxTokens: 50, maxCostUsd: 2, onExceed: 'ask' },
    );
    assert.equal(
      tighterBudget({ maxTokens: 100, onExceed: 'fail' }, { maxTokens: 500, onExceed: 'ask' })!.onExceed,
      'fail',
    );
    assert.equal(tighterBudget(undefined, undefined), undefined);
  });

  test('a batch of children shares what is neither spent nor granted', () => {
    const budget = { maxTokens: 100, maxCostUsd: 1, onExceed: 'fail' as const };
    const running: ChildRun = {
      runId: 'r/1',
      agent: 'a',
      status: 'running',
      budget: { maxTokens: 30, maxCostUsd: 0.5, onExceed: 'fail' },
    };
    const queued: ChildRun = { runId: 'r/2', agent: 'a', status: 'queued' };
    assert.deepEqual(
      childGrant(budget, { tokens: 20, costUsd: 0.1 }, [running, queued, { ...queued, runId: 'r/3' }], 2),
      { maxTokens: 25, maxCostUsd: 0.2, onExceed: 'fail' },
    );
    assert.deepEqual(childGrant(budget, { tokens: 120 }, [], 1), { maxTokens: 0, maxCostUsd: 1, onExceed: 'fail' });
  });

  test('crossing, asking and extending', () => {
    const budget = { maxTokens: 50, onExceed: 'ask' as const };
    assert.equal(overBudget(budget, { tokens: 49 }), undefined);
    assert.match(overBudget(budget, { tokens: 80, unpriced: true })!, /80\/50 tokens · unpriced calls/);
    assert.deepEqual(requestedExtension(budget, { tokens: 80 }), { extendTokens: 80 });
    assert.deepEqual(extendedBudget(budget, { extendTokens: 100, extendUsd: 5 }), { maxTokens: 150, onExceed: 'ask' });
    assert.equal(
      spendText({ tokens: 3, costUsd: 0.5 }, { maxCostUsd: 2, onExceed: 'fail' }),
      '3 tokens · $0.5000/$2.00',
    );
  });

  test('an extension is part of what an approver signs; decisions without one sign the same bytes as before', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const fields = {
      runId: 'r',
      agent: 'a',
      tool: 'budget',
      callId: 'keel-budget-1',
      argsHash: 'sha256:x',
      decision: 'approve' as const,
      approver: 'ann',
      time: 't',
    };
    const keys = [{ name: 'ann', publicKey: publicKeyText(publicKey) }];
    const signed = signDecision({ ...fields, extendTokens: 100 }, privateKey);
    assert.equal(verifyDecision({ ...fields, extendTokens: 100 }, signed, keys).ok, true);
    assert.equal(
      verifyDecision({ ...fields, extendTokens: 100_000 }, signed, keys).ok,
      false,
      'a raised extension does not verify',
    );
    assert.equal(
      decisionMessage(fields).toString(),
      JSON.stringify([
        'keel-approval-v2',
        'r',
        'a',
        'budget',
        'keel-budget-1',
        'sha256:x',
        'approve',
        'ann',
        '',
        false,
        't',
      ]),
    );
  });

  test('keel watch prints the spend with the final status', () => {
    let out = '';
    const printer = new EventPrinter('r', (t) => (out += t));
    printer.print({
      type: 'status',
      status: 'failed',
      error: { type: 'BudgetExceeded', message: 'spent' },
      spend: { tokens: 80, costUsd: 0.001 },
      seq: 1,
      turn: 2,
      at: 't',
      agent: 'a',
    });
    assert.equal(out, '✘ failed: BudgetExceeded: spent · 80 tokens · $0.0010\n');
  });

  test('an extension counts only for a budget call, as numbers >= 0', () => {
    const state = initialRunState({ runId: 'r', agent: 'a', input: 'x', now: 't' });
    state.pendingApprovals.push(
      { callId: 'c1', tool: 'deploy', arguments: '{}', agent: 'a', requestedAt: 't' },
      { callId: 'keel-budget-1', tool: 'budget', arguments: '{}', agent: 'a', requestedAt: 't' },
    );
    const spec = { name: 'a' } as AgentSpec;
    assert.match(
      decisionProblem(state, spec, { callId: 'c1', approver: 'ann', extendTokens: 5 })!.message,
      /only for a budget approval, not for deploy/,
    );
    assert.match(
      decisionProblem(state, spec, { callId: 'keel-budget-1', approver: 'ann', extendUsd: -1 })!.message,
      /extendUsd must be a number >= 0/,
    );
    assert.equal(
      decisionProblem(state, spec, { callId: 'keel-budget-1', approver: 'ann', extendTokens: 5, extendUsd: 0.5 }),
      undefined,
    );
  });
});
