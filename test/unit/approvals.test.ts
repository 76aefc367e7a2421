/**
 * The workflow's approval bookkeeping as pure functions over RunState: decision validation, audit items,
 * standing decisions, rejection text, declarative policies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { approvalSpecOf } from '../../src/agents/approval.js';
import type { AgentSpec } from '../../src/agents/spec.js';
import {
  applyDecision,
  applyStandingDecision,
  decisionFor,
  decisionProblem,
  rejectionText,
  validateDecide,
} from '../../src/workflows/approvals.js';
import { argumentsDigest } from '../../src/workflows/call-binding.js';
import { initialRunState, policyAllows, type RunState, type ToolCallItem } from '../../src/workflows/run-state.js';

const call = (callId: string, name: string): ToolCallItem => ({
  type: 'tool_call',
  callId,
  name,
  arguments: '{}',
  agent: 'ops',
});
const spec = { name: 'ops', approvers: ['ann', 'bob'], rejectionMessage: 'No{reason}, says {approver}.' } as AgentSpec;

function waiting(...calls: [string, string][]): RunState {
  const state = initialRunState({ runId: 'r', agent: 'ops', input: 'go', now: 't0' });
  state.pendingApprovals = calls.map(([callId, tool]) => ({
    callId,
    tool,
    arguments: '{}',
    agent: 'ops',
    requestedAt: 't0',
  }));
  return state;
}

describe('decision validation', () => {
  test('names the problem: malformed, unknown call, already decided, approver not allowed', () => {
    const state = waiting(['c1', 'deploy'], ['c2', 'deploy']);
    const problem = (input: { callId: string; approver: string }, s = spec) => decisionProblem(state, s, input);
    assert.deepEqual(problem({ callId: 'c1', approver: ' ' }), {
      type: 'BadDecision',
      message: 'a decision needs a callId and a non-empty approver',
    });
    assert.deepEqual(problem({ callId: 'c9', approver: 'ann' }), {
      type: 'NotPending',
      message: 'no pending approval with callId c9 (pending: c1, c2)',
    });
    assert.deepEqual(problem({ callId: 'c1', approver: 'eve' }), {
      type: 'NotAnApprover',
      message: 'eve may not decide for agent ops (approvers: ann, bob)',
    });
    assert.equal(decisionProblem(state, spec, { callId: 'c1', approver: 'ann' }), undefined);
    applyDecision(state, { callId: 'c1', approver: 'ann', decision: 'approve' }, 'update', 't1');
    assert.deepEqual(problem({ callId: 'c1', approver: 'bob' }), {
      type: 'AlreadyDecided',
      message: 'call c1 was already decided',
    });
    assert.equal(
      decisionProblem(state, { ...spec, approvers: undefined }, { callId: 'c2', approver: 'anyone' }),
      undefined,
    );
  });

  test('the update validator throws a failure typed by the problem', () => {
    const state = waiting(['c1', 'deploy']);
    assert.throws(() => validateDecide(state, spec, { callId: 'c1', approver: 'ann', decision: 'maybe' as never }), {
      type: 'BadDecision',
    });
    assert.throws(() => validateDecide(state, spec, { callId: 'c7', approver: 'ann', decision: 'approve' }), {
      type: 'NotPending',
      message: 'no pending approval with callId c7 (pending: c1)',
    });
    assert.doesNotThrow(() => validateDecide(state, spec, { callId: 'c1', approver: 'ann', decision: 'reject' }));
  });
});

describe('decisions and standing decisions', () => {
  test("always covers the same tool's other pending calls, and later calls with an audit item naming the approver", () => {
    const state = waiting(['c1', 'deploy'], ['c2', 'read'], ['c3', 'deploy']);
    applyDecision(
      state,
      { callId: 'c1', approver: 'ann', decision: 'approve', always: true, reason: 'ok' },
      'signal',
      't1',
    );
    assert.deepEqual(
      state.pendingApprovals.map((p) => p.callId),
      ['c2'],
    );
    assert.deepEqual(state.standingDecisions, { 'ops:deploy': 'approve' });
    assert.deepEqual(
      state.items.filter((i) => i.type === 'approval').map((i) => [i.callId, i.via]),
      [
        ['c1', 'signal'],
        ['c3', 'always'],
      ],
    );
    const later = applyStandingDecision(state, call('c4', 'deploy'), 't2');
    assert.deepEqual(later, {
      type: 'approval',
      callId: 'c4',
      tool: 'deploy',
      decision: 'approve',
      approver: 'ann',
      reason: 'ok',
      at: 't2',
      via: 'always',
      agent: 'ops',
      argsHash: argumentsDigest('{}'),
    });
    assert.equal(applyStandingDecision(state, call('c5', 'read'), 't2'), undefined);
  });

  test('a standing decision covers only the agent that made it (not after a handoff)', () => {
    const state = waiting(['c1', 'deploy']);
    applyDecision(state, { callId: 'c1', approver: 'ann', decision: 'approve', always: true }, 'update', 't1');
    assert.equal(applyStandingDecision(state, { ...call('c2', 'deploy'), agent: 'prodagent' }, 't2'), undefined);
    assert.ok(applyStandingDecision(state, call('c3', 'deploy'), 't2'));
  });

  test('a decision binds the arguments it was made for: same id, other arguments, no match', () => {
    const state = waiting(['X', 'deploy']);
    state.pendingApprovals[0].arguments = '{"env":"dev"}';
    const dev = argumentsDigest('{"env":"dev"}');
    const other = decisionProblem(state, spec, {
      callId: 'X',
      approver: 'ann',
      argsHash: argumentsDigest('{"env":"prod"}'),
    });
    assert.equal(other?.type, 'WrongArguments');
    assert.match(other.message, /made for other arguments/);
    applyDecision(state, { callId: 'X', approver: 'ann', decision: 'approve', argsHash: dev }, 'update', 't1');
    assert.ok(
      decisionFor(state, { ...call('X', 'deploy'), arguments: '{ "env": "dev" }' }),
      'canonical arguments match',
    );
    assert.equal(decisionFor(state, { ...call('X', 'deploy'), arguments: '{"env":"PROD"}' }), undefined);
    assert.equal(decisionFor(state, { ...call('X', 'deploy'), arguments: '{"env":"dev"}', agent: 'other' }), undefined);
  });

  test('rejection text fills in reason and approver', () => {
    const base = { type: 'approval', callId: 'c', tool: 't', decision: 'reject', at: 't', via: 'update' } as const;
    assert.equal(rejectionText(spec, { ...base, approver: 'bob', reason: 'risky' }), 'No (reason: risky), says bob.');
    assert.equal(rejectionText(spec, { ...base, approver: 'bob' }), 'No, says bob.');
  });
});

describe('declarative policies', () => {
  test('test the named field, or the whole arguments JSON', () => {
    const policy = approvalSpecOf({ allow: [/^ls\b/g, /^cat\b/], field: 'cmd' });
    assert.ok(policy.mode === 'policy');
    assert.equal(policy.allow[0].flags, ''); // a global regex would keep lastIndex between tests
    assert.equal(policyAllows(policy, '{"cmd":"ls -la"}'), true);
    assert.equal(policyAllows(policy, '{"cmd":"ls -la"}'), true);
    assert.equal(policyAllows(policy, '{"cmd":"cat a.txt"}'), true);
    assert.equal(policyAllows(policy, '{"cmd":"lsof"}'), false);
    assert.equal(policyAllows(policy, '{"cmd":"rm -rf /"}'), false);
    assert.equal(policyAllows(policy, '{"other":"ls"}'), false);
    assert.equal(policyAllows(policy, 'not json'), false);
    const whole = approvalSpecOf({ allow: [/"env":"staging"/] });
    assert.ok(whole.mode === 'policy');
    assert.equal(policyAllows(whole, '{"env":"staging"}'), true);
    assert.equal(policyAllows(whole, '{"env":"prod"}'), false);
    assert.deepEqual(approvalSpecOf(true), { mode: 'always' });
    assert.deepEqual(approvalSpecOf(undefined), { mode: 'never' });
    assert.deepEqual(
      approvalSpecOf(() => true),
      { mode: 'function' },
    );
  });
});
