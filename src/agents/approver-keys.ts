/**
 * Approver identities: Ed25519 key pairs. `keel approve --key` signs the decision
 * `{runId, agent, tool, callId, argsHash, decision, approver, reason, always, time}`; the run verifies it against the agent's approver keys (in
 * an activity) before applying it, and records the key's fingerprint in the audit item. Public keys are written
 * `ed25519:<base64 of the 32-byte key>`; private keys are PKCS#8 PEM files.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KeelError } from '../errors.js';
import type { DecisionFailureType } from '../failures.js';

export interface ApproverKey {
  name: string;
  /** `ed25519:<base64>` */
  publicKey: string;
}

/** What an approver signs: the run, and the call as the run recorded it (agent, tool, id, arguments digest). */
export interface SignedDecisionFields {
  runId: string;
  agent: string;
  tool: string;
  callId: string;
  /** `argumentsDigest` of the call's arguments (workflows/call-binding.ts). */
  argsHash: string;
  decision: 'approve' | 'reject';
  approver: string;
  reason?: string;
  /** Signed too, so nobody can widen a one-call approval into a standing one. */
  always?: boolean;
  /** ISO time of signing. */
  time: string;
  /** A budget extension granted with the decision: signed, so nobody can raise it on the way. */
  extendTokens?: number;
  extendUsd?: number;
}

/** The call as the run recorded it: what the workflow hands the verifier, never what the decision claims. */
export type SignedCall = Pick<SignedDecisionFields, 'agent' | 'tool' | 'argsHash'>;

/**
 * Fixed field order and no optional holes, so signer and verifier hash the same bytes. v2 binds the agent, tool and
 * arguments digest: a v1 signature (run, call id and decision only) matched any call reusing the id, so none counts.
 */
export function decisionMessage(d: SignedDecisionFields): Buffer {
  const fields = [
    d.runId,
    d.agent,
    d.tool,
    d.callId,
    d.argsHash,
    d.decision,
    d.approver,
    d.reason ?? '',
    Boolean(d.always),
    d.time,
  ];
  // An extension is appended only when there is one, so decisions without one sign the same bytes as before.
  const extended = d.extendTokens !== undefined || d.extendUsd !== undefined;
  return Buffer.from(
    JSON.stringify(['keel-approval-v2', ...fields, ...(extended ? [d.extendTokens ?? null, d.extendUsd ?? null] : [])]),
  );
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function publicKeyObject(text: string): KeyObject {
  const raw = Buffer.from(text.replace(/^ed25519:/, ''), 'base64');
  if (!text.startsWith('ed25519:') || raw.length !== 32)
    throw new KeelError('bad_usage', `approver public key must be 'ed25519:' + base64 of 32 bytes`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function publicKeyText(key: KeyObject): string {
  return `ed25519:${key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length).toString('base64')}`;
}

/** Short, stable name of a public key for audit records: `SHA256:` + 16 hex digits. */
export function fingerprint(publicKey: string): string {
  return `SHA256:${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`;
}

export function generateApproverKey(): { privateKeyPem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: publicKeyText(publicKey),
  };
}

/** A private key from PEM text or a file holding it. */
export function loadPrivateKey(pemOrFile: string): KeyObject {
  const pem = pemOrFile.includes('-----BEGIN') ? pemOrFile : readKeyFile(pemOrFile);
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    return key;
  } catch (err) {
    throw new KeelError('bad_usage', `not an Ed25519 private key: ${(err as Error).message}`);
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KeelError('bad_usage', `cannot read approver key ${file}: ${(err as Error).message}`);
  }
}

export function signDecision(d: SignedDecisionFields, privateKey: KeyObject): string {
  return sign(null, decisionMessage(d), privateKey).toString('base64');
}

/** The matching key's fingerprint when `signature` is `d.approver`'s, else why not. */
export function verifyDecision(
  d: SignedDecisionFields,
  signature: string | undefined,
  keys: ApproverKey[],
): { ok: true; fingerprint: string } | { ok: false; type: DecisionFailureType; reason: string } {
  if (!signature)
    return {
      ok: false,
      type: 'Unsigned',
      reason: `decisions for this agent must be signed by an approver's key (keel approve --key FILE); this one is unsigned`,
    };
  const mine = keys.filter((k) => k.name === d.approver);
  if (mine.length === 0)
    return {
      ok: false,
      type: 'NotAnApprover',
      reason: `${d.approver} is not an approver of this agent (approvers: ${[...new Set(keys.map((k) => k.name))].join(', ')})`,
    };
  const sig = Buffer.from(signature, 'base64');
  const match = mine.find((k) => verify(null, decisionMessage(d), publicKeyObject(k.publicKey), sig));
  if (!match)
    return {
      ok: false,
      type: 'BadSignature',
      reason: `the signature does not verify with ${d.approver}'s key: forged, or signed for another run, agent, call, arguments or decision`,
    };
  return { ok: true, fingerprint: fingerprint(match.publicKey) };
}

/** A keyring file: lines `name ed25519:<base64>`, `#` comments. */
export function readKeyring(file: string): ApproverKey[] {
  return readKeyFile(file)
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const [name, publicKey] = line.split(/\s+/);
      publicKeyObject(publicKey ?? ''); // fail at load, not at the first decision
      return { name, publicKey };
    });
}
