/**
 * The S3 stores against a real SeaweedFS server with SigV4 auth: blobs are written once and hash-checked on read,
 * wrong credentials are refused, and incremental snapshots round-trip a workspace tree through the bucket, storing
 * about one file for a one-file change. The stores are built from the environment, as a worker builds them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { storesFromEnv, type Stores } from '../../src/storage/config.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';

let s3: S3Server;
let stores: Stores;
let work: string;

before(async () => {
  s3 = await startS3Server();
  stores = storesFromEnv(s3.env('t1'));
  work = mkdtempSync(path.join(tmpdir(), 'keel-s3-test-'));
});

after(async () => {
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('blobs: content-addressed, written once, listed, deleted; a tampered object fails its read', async () => {
  const big = randomBytes(3 * 1024 * 1024);
  const ref = await stores.blobs.put(big);
  assert.match(ref, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await stores.blobs.put(big), ref);
  assert.deepEqual(await stores.blobs.get(ref), big);
  assert.equal(await stores.blobs.get(`sha256:${'0'.repeat(64)}`), undefined);
  const listed = [];
  for await (const b of stores.blobs.list()) listed.push(b);
  assert.deepEqual(
    listed.map((b) => [b.ref, b.bytes]),
    [[ref, big.length]],
  );

  const key = `t1/blobs/${ref.slice(7, 9)}/${ref.slice(7)}`;
  const original = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
  assert.equal(Number(original.ContentLength), big.length, 'objects live under <prefix>/blobs/<xx>/<hex>');
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from('tampered') }));
  await assert.rejects(stores.blobs.get(ref), /hash check/);
  await stores.blobs.delete(ref);
  assert.equal(await stores.blobs.has(ref), false);
});

test('wrong credentials are refused by the server', async () => {
  const bad = storesFromEnv({ ...s3.env('t1'), AWS_SECRET_ACCESS_KEY: 'wrong' });
  await assert.rejects(bad.blobs.put('x'), /S3 HEAD .* failed: .*HTTP 403/);
});

function tarOut(dir: string) {
  return spawn('tar', ['-c', '-f', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout;
}

test('snapshots: a workspace round-trips through the bucket; a one-file change stores about that file', async () => {
  const ws = path.join(work, 'ws');
  mkdirSync(path.join(ws, 'data/empty'), { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(path.join(ws, 'data', `f${i}.bin`), randomBytes(256 * 1024));
  writeFileSync(path.join(ws, 'tool.sh'), '#!/bin/sh\n');
  chmodSync(path.join(ws, 'tool.sh'), 0o755);
  symlinkSync('data/f1.bin', path.join(ws, 'current'));
  const first = await stores.snapshots.put(tarOut(ws));
  assert.ok(first.storedBytes! >= 40 * 256 * 1024);

  writeFileSync(path.join(ws, 'data', 'f7.bin'), randomBytes(10 * 1024));
  const second = await stores.snapshots.put(tarOut(ws));
  assert.ok(second.storedBytes! < 24 * 1024, `one 10 KB change stored ${second.storedBytes} bytes`);

  // Another host: a fresh store object over the same bucket, no shared process state.
  const other = storesFromEnv(s3.env('t1'));
  const restored = path.join(work, 'restored');
  mkdirSync(restored);
  const untar = spawn('tar', ['-x', '-f', '-', '-C', restored], { stdio: ['pipe', 'inherit', 'inherit'] });
  (await other.snapshots.get(second.id)).pipe(untar.stdin);
  assert.equal(await new Promise((r) => untar.on('close', r)), 0);
  const describe = (d: string) =>
    execFileSync('bash', [
      '-c',
      `cd "$1" && find . -printf '%p %y %m %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum`,
      '_',
      d,
    ]).toString();
  assert.equal(describe(restored), describe(ws));
});
