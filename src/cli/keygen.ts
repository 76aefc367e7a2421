/**
 * `keel keygen approver --out FILE [--name NAME]`: an Ed25519 key pair for signing approvals (private key in FILE,
 * mode 0600; the public key line for the agent's `approvers` or a keyring printed and written to FILE.pub).
 * `keel keygen codec [--name ID]`: a new payload-encryption key entry for KEEL_CODEC_KEY or a key file.
 */
import { writeFile } from 'node:fs/promises';
import { generateApproverKey } from '../agents/approver-keys.js';
import { generateCodecKey } from '../codec.js';
import { KeelError } from '../errors.js';
import { str, type Command } from './command.js';

async function keygenCommand(kind: string | undefined, values: { out?: string; name?: string }): Promise<number> {
  if (kind === 'codec') {
    console.log(generateCodecKey(values.name));
    return 0;
  }
  if (kind !== 'approver')
    throw new KeelError('bad_usage', 'keygen needs a kind: approver --out FILE [--name NAME], or codec [--name ID]');
  if (!values.out) throw new KeelError('bad_usage', 'keygen approver needs --out FILE (where the private key goes)');
  const { privateKeyPem, publicKey } = generateApproverKey();
  await writeFile(values.out, privateKeyPem, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new KeelError(
      'bad_usage',
      err.code === 'EEXIST'
        ? `${values.out} exists; not overwriting a key`
        : `cannot write ${values.out}: ${err.message}`,
    );
  });
  const line = `${values.name ?? 'NAME'} ${publicKey}`;
  await writeFile(`${values.out}.pub`, `${line}\n`);
  console.log(line);
  return 0;
}

export const keygen: Command = {
  name: 'keygen',
  usage:
    'keygen approver --out FILE [--name NAME] | keygen codec [--name ID]   an approver key pair, or a payload-encryption key',
  options: { out: { type: 'string' }, name: { type: 'string' } },
  run: ([kind], values) => keygenCommand(kind, { out: str(values, 'out'), name: str(values, 'name') }),
};
