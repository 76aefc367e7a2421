/**
 * The audit document as Markdown (for people) or JSON (for tools). Untrusted text (model output, command output,
 * arguments) goes inside fenced blocks whose fence is longer than any backtick run in it, so it cannot break out.
 */
import { describeReceipt } from '../agents/run-workspace.js';
import type { RunItem } from '../workflows/run-state.js';
import { safeText } from '../util/safe-text.js';
import type { ApprovalRecord, AuditDocument, ChildRunRecord, ModelCallRecord } from './document.js';

export function renderAuditJson(doc: AuditDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text.replace(/\n$/, '')}\n${f}`;
}

/** Inline code that survives any content (backticks, angle brackets, `--`). */
export function code(text: string): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f} ${oneLine} ${f}`;
}

function item(i: RunItem): string {
  switch (i.type) {
    case 'message':
      return `**${i.role}${i.agent ? ` (${i.agent})` : ''}:**\n${fence(i.content)}`;
    case 'tool_call':
      return `**tool call** ${code(i.name)} ${code(i.callId)}:\n${fence(i.arguments, 'json')}`;
    case 'tool_result':
      return `**tool result** ${code(i.callId)}${i.isError ? ' (error)' : ''}:\n${fence(i.output)}`;
    case 'approval':
      return `**approval** ${code(i.callId)}: ${i.decision} by ${code(i.approver)}${i.verifiedKey ? ` (verified key ${code(i.verifiedKey)})` : ''}${i.reason ? ` — ${code(i.reason)}` : ''}`;
    case 'approval_refused':
      return `**approval refused** ${code(i.callId)}: ${i.decision} claimed by ${code(i.approver)} via ${i.via} — ${code(i.why)}`;
    case 'guardrail':
      return `**guardrail** ${i.kind} ${code(i.name)}: ${i.tripped ? 'TRIPPED' : 'passed'}`;
    case 'handoff':
      return `**handoff** ${i.from} → ${i.to}`;
    case 'compaction':
      return `**compaction** summary of ${i.replacedItems} items:\n${fence(i.summary)}`;
    case 'reasoning':
      return `**reasoning** ${code(i.id)}${i.summary.length ? `:\n${fence(i.summary.join('\n'))}` : ' (encrypted)'}`;
    case 'hosted_call':
      return `**hosted tool** ${code(i.kind)} ${code(i.id)}${i.status ? ` (${i.status})` : ''}: ${code(i.summary)}`;
  }
}

function modelCall(m: ModelCallRecord, n: number, h: Heading): string {
  const head = `${h(3)} ${n}. ${m.purpose === 'turn' ? `Turn ${m.turn ?? '?'}` : 'Compaction'} — ${code(m.model)} (${m.agent}) · ${m.startedAt}`;
  const parts = [head];
  if (m.sent.instructions !== undefined && n === 1) parts.push(`Instructions:\n${fence(m.sent.instructions)}`);
  if (m.sent.tools.length) parts.push(`Tools offered: ${m.sent.tools.map(code).join(', ')}`);
  parts.push(`Sent (${m.sent.conversationItems} items in the conversation; new since the previous call):`);
  parts.push(m.sent.newItems.length ? m.sent.newItems.map(item).join('\n\n') : '_(nothing new)_');
  if (m.received) {
    parts.push(`Received (${m.received.usage.inputTokens} input + ${m.received.usage.outputTokens} output tokens):`);
    parts.push(m.received.items.map(item).join('\n\n') || '_(empty)_');
  }
  if (m.error) parts.push(`**Failed:** ${m.error.type ?? 'Error'}: ${code(m.error.message)}`);
  return parts.join('\n\n');
}

function approval(a: ApprovalRecord): string {
  if (a.pending)
    return `- ${code(a.tool)} ${code(a.callId)} ${code(a.arguments)}: **waiting for a decision** since ${a.requestedAt ?? '?'}`;
  const who = a.approver ? code(a.approver) : 'unknown';
  const wait = a.waitMs !== undefined ? ` after ${(a.waitMs / 1000).toFixed(1)} s` : '';
  const why = a.reason ? `; reason: ${code(a.reason)}` : '';
  const client = a.clientIdentity ? `; sent by client ${code(a.clientIdentity)}` : '';
  return `- ${code(a.tool)} ${code(a.callId)} ${code(a.arguments)}: **${a.decision ?? 'undecided'}** by ${who} at ${a.decidedAt ?? '?'}${wait} via ${a.via ?? '?'}${why}${client}; identity verified: ${a.identityVerified ? `yes (key ${code(a.verifiedKey ?? '?')})` : 'no'}${(a.refused ?? []).map((r) => `\n  - refused: ${r.decision} claimed by ${code(r.approver)} via ${r.via} at ${r.at}: ${r.why}`).join('')}`;
}

function header(doc: AuditDocument, h: Heading): string[] {
  const lines = [
    `${h(1)} Audit of run ${code(doc.runId)}`,
    '',
    `- Agent: ${code(doc.agent)}; versions: ${doc.agents.map((a) => `${a.name} ${code(a.version)} (${a.model})`).join(', ') || 'unknown'}`,
    `- Status: **${doc.status}**; started ${doc.startedAt}${doc.endedAt ? `, ended ${doc.endedAt}` : ''}${doc.continuedAsNew ? `; continued as new ${doc.continuedAsNew}×` : ''}`,
    `- Usage: ${doc.usage.inputTokens} input + ${doc.usage.outputTokens} output = ${doc.usage.totalTokens} tokens in ${doc.usage.requests} model requests`,
  ];
  if (doc.startedBy) lines.push(`- Started by client ${code(doc.startedBy)}`);
  if (doc.tenant !== undefined) lines.push(`- Tenant: ${code(doc.tenant)}`);
  if (doc.cancelRequested)
    lines.push(
      `- Cancel requested at ${doc.cancelRequested.at}${doc.cancelRequested.by ? ` by client ${code(doc.cancelRequested.by)}` : ''}`,
    );
  if (doc.error) lines.push(`- Error: ${doc.error.type ?? 'Error'}: ${code(doc.error.message)}`);
  lines.push('', `${h(2)} Input`, '', fence(doc.input));
  if (doc.workspace)
    lines.push(
      '',
      `${h(2)} Workspace received`,
      '',
      describeReceipt(doc.workspace)
        .map((l) => `- ${code(l)}`)
        .join('\n'),
    );
  if (doc.finalOutput !== undefined)
    lines.push(
      '',
      `${h(2)} Final output`,
      '',
      fence(typeof doc.finalOutput === 'string' ? doc.finalOutput : JSON.stringify(doc.finalOutput, null, 2)),
    );
  return lines;
}

/** `#` × level, deeper for a child run's document nested in its parent's. */
type Heading = (level: number) => string;

function child(c: ChildRunRecord): string {
  return `- ${code(c.runId)} ${code(c.agent)}: **${c.status}**, started ${c.startedAt}${c.endedAt ? `, ended ${c.endedAt}` : ''}${c.error ? `: ${c.error.type ?? 'Error'}: ${code(c.error.message)}` : ''}`;
}

/** The run's document; its children's documents follow, one heading level deeper each generation (to 6). */
/** The audit as Markdown, safe to print to a terminal (model text and outputs may carry escape sequences). */
export function renderAuditMarkdown(doc: AuditDocument, depth = 0): string {
  const h: Heading = (level) => '#'.repeat(Math.min(6, level + depth));
  const out = header(doc, h);
  out.push('', `${h(2)} Approvals (${doc.approvals.length})`, '', doc.approvals.map(approval).join('\n') || '_none_');
  out.push('', `${h(2)} Commands (${doc.commands.length})`);
  for (const c of doc.commands)
    out.push(
      '',
      `${h(3)} ${code(c.cmd)}${c.workdir ? ` in ${code(c.workdir)}` : ''} — exit ${c.exitCode ?? '?'} (${code(c.callId)})`,
      '',
      fence(c.output),
    );
  out.push('', `${h(2)} File changes (${doc.fileChanges.length})`);
  for (const f of doc.fileChanges)
    out.push(
      '',
      `${h(3)} ${f.tool} ${f.paths.map(code).join(', ')}${f.applied ? '' : ' (not applied)'} (${code(f.callId)})`,
      '',
      fence(f.diff, 'diff'),
    );
  out.push('', `${h(2)} Guardrails (${doc.guardrails.length})`, '');
  out.push(
    doc.guardrails
      .map(
        (g) =>
          `- ${g.kind} ${code(g.name)}${g.callId ? ` on ${code(g.callId)}` : ''}: ${g.tripped ? '**TRIPPED**' : 'passed'}${g.info !== undefined ? ` ${code(JSON.stringify(g.info))}` : ''}`,
      )
      .join('\n') || '_none_',
  );
  out.push(
    '',
    `${h(2)} Handoffs (${doc.handoffs.length})`,
    '',
    doc.handoffs.map((h) => `- ${h.from} → ${h.to} (${code(h.version)})`).join('\n') || '_none_',
  );
  out.push('', `${h(2)} Tool calls (${doc.toolCalls.length})`, '');
  out.push(
    doc.toolCalls
      .map(
        (t) =>
          `- ${code(t.tool)}${t.origin ? ` (${t.origin})` : ''} ${code(t.callId)} ${code(t.arguments)} → ${t.error ? `failed: ${code(t.error.message)}` : t.output === undefined ? 'no result' : t.isError ? 'error' : 'ok'}`,
      )
      .join('\n') || '_none_',
  );
  out.push('', `${h(2)} Model calls (${doc.modelCalls.length})`);
  doc.modelCalls.forEach((m, i) => out.push('', modelCall(m, i + 1, h)));
  if (doc.sandbox.length)
    out.push(
      '',
      `${h(2)} Sandbox`,
      '',
      doc.sandbox
        .map(
          (s) =>
            `- ${s.at} ${s.operation}${s.summary ? ` (${s.summary})` : ''}${s.error ? `: failed: ${code(s.error)}` : ''}`,
        )
        .join('\n'),
    );
  if (doc.gaps.length) out.push('', `${h(2)} Gaps`, '', doc.gaps.map((g) => `- ${g}`).join('\n'));
  const children = doc.children ?? [];
  if (children.length) out.push('', `${h(2)} Child runs (${children.length})`, '', children.map(child).join('\n'));
  for (const c of children) if (c.audit) out.push('', renderAuditMarkdown(c.audit, depth + 1).trimEnd());
  return safeText(out.join('\n') + '\n');
}
