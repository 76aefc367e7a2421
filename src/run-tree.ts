/**
 * A run and its descendants as one tree, read from the runs themselves: the root's live RunState, then the live
 * RunState of each child still running (a finished child is read from its parent's record, which holds its status,
 * output and usage). Approvals anywhere in the tree are found here and decided at the run that asked.
 */
import { spendOf, spendText } from './agents/budget.js';
import { KeelError } from './errors.js';
import type { PendingApproval, RunState, RunStatus } from './workflows/run-state.js';
import { childUsage, sumUsage, type ChildRun } from './workflows/tree.js';

export interface RunTreeNode {
  runId: string;
  agent: string;
  status: RunStatus;
  /** The live RunState, for runs that were still running when read. */
  state?: RunState;
  /** The parent's record of this run (absent for the root). */
  record?: ChildRun;
  children: RunTreeNode[];
}

/** A pending approval and the run (anywhere in the tree) that asked for it. */
export type TreeApproval = PendingApproval & { runId: string };

export async function readTree(
  runId: string,
  query: (runId: string) => Promise<RunState>,
  record?: ChildRun,
): Promise<RunTreeNode> {
  if (record && record.status !== 'running') {
    const status = record.status === 'queued' ? 'running' : record.status;
    return { runId, agent: record.agent, status, record, children: [] };
  }
  let state: RunState;
  try {
    state = await query(runId);
  } catch (err) {
    if (!record) throw err;
    // A child whose workflow is not started yet (or not answering): its parent's record is what there is.
    return { runId, agent: record.agent, status: 'running', record, children: [] };
  }
  const children = await Promise.all(state.children.map((c) => readTree(c.runId, query, c)));
  return { runId, agent: state.agent, status: state.status, state, record, children };
}

export function treeNodes(node: RunTreeNode): RunTreeNode[] {
  return [node, ...node.children.flatMap(treeNodes)];
}

export function treeApprovals(root: RunTreeNode): TreeApproval[] {
  return treeNodes(root).flatMap((n) => (n.state?.pendingApprovals ?? []).map((p) => ({ ...p, runId: n.runId })));
}

/** The run in the tree that asked for approval `callId`: the root itself first, else the one descendant that did. */
export function approvalOwner(root: RunTreeNode, callId: string): string {
  const owners = treeApprovals(root)
    .filter((p) => p.callId === callId)
    .map((p) => p.runId);
  if (owners.length === 0 || owners.includes(root.runId)) return root.runId; // the root's validator explains a miss
  if (owners.length > 1)
    throw new KeelError(
      'bad_usage',
      `several runs in the tree wait for ${callId} (${owners.join(', ')}): approve at the run that asked`,
    );
  return owners[0];
}

/** One line per run, indented by depth: `keel state`'s tree view. */
export function formatTree(node: RunTreeNode, depth = 0): string[] {
  const pad = '  '.repeat(depth);
  const s = node.state;
  const usage = s ? s.usage : node.record?.usage;
  const status = node.record?.status === 'queued' ? 'queued' : node.status;
  const cost = usage?.costUsd !== undefined ? `  cost=$${usage.costUsd.toFixed(4)}` : '';
  const head = `${pad}${node.runId}  agent=${node.agent}  status=${status}${s ? `  turn=${s.turn}` : ''}  tokens=${usage?.totalTokens ?? 0}${cost}${usage?.unpriced ? '  unpriced' : ''}`;
  const lines = [head];
  if (s?.budget)
    lines.push(
      `${pad}  budget (tree): ${spendText(spendOf(sumUsage([s.usage, childUsage(s.children)])), s.budget)} · onExceed ${s.budget.onExceed}`,
    );
  for (const p of s?.pendingApprovals ?? []) lines.push(`${pad}  pending ${p.callId} ${p.tool} ${p.arguments}`);
  for (const i of s?.items ?? [])
    if (i.type === 'hosted_call') lines.push(`${pad}  hosted ${i.kind} ${i.id}: ${i.summary}`);
  const error = s?.error ?? node.record?.error;
  if (error) lines.push(`${pad}  error: ${error.type}: ${error.message}`);
  return [...lines, ...node.children.flatMap((c) => formatTree(c, depth + 1))];
}
