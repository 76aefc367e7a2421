/**
 * The egress proxy (src/sandbox/egress) with local servers only: an allowlisted name answers (plain HTTP and a
 * CONNECT tunnel); other names, raw IPs, the host's loopback and link-local metadata addresses are refused, and
 * curl's output (what a sandbox tool would show) says why. Names resolve through an injected lookup so the test
 * never touches real DNS.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEgressProxy, type EgressProxy } from '../../src/sandbox/egress/proxy.js';

const NAMES: Record<string, string[]> = { 'pypi.test': ['127.0.0.1'], 'api.mirror.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'], 'other.test': ['127.0.0.1'] };
const lookup = async (host: string) => {
  const found = NAMES[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

function curl(proxy: string, url: string, extra: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', '--proxy', proxy, ...extra, url], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

let site: Server;
let port: number;
let proxy: EgressProxy;
let strict: EgressProxy;
before(async () => {
  site = createServer((req, res) => res.end(`hello from ${req.headers.host}`));
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  port = (site.address() as AddressInfo).port;
  // allowInternal: the "allowed" site is a loopback server standing in for an on-premises mirror.
  proxy = await startEgressProxy({ allow: ['pypi.test', '*.mirror.test', 'meta.test'], lookup, allowInternal: true });
  strict = await startEgressProxy({ allow: ['pypi.test'], lookup });
});
after(async () => {
  await proxy?.close();
  await strict?.close();
  await new Promise((resolve) => site?.close(resolve));
});

describe('egress proxy', () => {
  test('allowlisted names answer, over plain HTTP and through a CONNECT tunnel', async () => {
    assert.match((await curl(proxy.url, `http://pypi.test:${port}/simple/`)).out, new RegExp(`hello from pypi.test:${port}`));
    assert.match((await curl(proxy.url, `http://api.mirror.test:${port}/`)).out, /hello from api\.mirror\.test/);
    const tunnelled = await curl(proxy.url, `http://pypi.test:${port}/`, ['--proxytunnel']);
    assert.match(tunnelled.out, /hello from pypi\.test/);
  });

  test('other names, raw IPs, the host and metadata addresses are refused, and the output says why', async () => {
    const cases: [string, RegExp, string[]?][] = [
      [`http://other.test:${port}/`, /refused: other\.test is not on this sandbox's egress allowlist/],
      [`http://mirror.test:${port}/`, /not on this sandbox's egress allowlist/],
      [`http://127.0.0.1:${port}/`, /refused: raw IP addresses are not allowed/],
      ['http://169.254.169.254/latest/meta-data/', /refused: raw IP addresses are not allowed/],
      ['http://meta.test/latest/meta-data/', /meta\.test resolves to 169\.254\.169\.254 is a link-local or metadata address/],
      ['http://host.docker.internal/', /not on this sandbox's egress allowlist/],
      [`http://169.254.169.254:80/`, /403/, ['--proxytunnel']],
    ];
    for (const [url, why, extra] of cases) {
      const r = await curl(proxy.url, url, extra);
      assert.match(r.out, why, `${url}: ${r.out}`);
      assert.doesNotMatch(r.out, /hello from/);
    }
    const v = await curl(proxy.url, `http://other.test:${port}/`, ['--proxytunnel', '-v']);
    assert.match(v.out, /403 keel egress proxy refused: other\.test is not on this sandbox's egress allowlist/, 'CONNECT refusals carry the reason');
  });

  test('without allowInternal, an allowed name resolving to the host is refused', async () => {
    const r = await curl(strict.url, `http://pypi.test:${port}/`);
    assert.match(r.out, /pypi\.test resolves to 127\.0\.0\.1 is a loopback or private address/);
  });
});
