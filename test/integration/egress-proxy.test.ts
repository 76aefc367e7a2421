/**
 * The egress proxy networked sandboxes get (`keel-agent egress-proxy`, agent/egress*.go), run on loopback with
 * local servers only: an allowlisted name answers (plain HTTP and a CONNECT tunnel); other names, raw IPs, names
 * resolving to loopback, to the host's own addresses, to link-local metadata or to a special-purpose range (NAT64,
 * 6to4, Teredo, IPv4-compatible, site-local, benchmarking, IETF, reserved) are refused, and curl's output
 * (what a sandbox tool shows) says why. `--test-host` (the documented test hook) points names at the local site.
 * The Docker wiring (the proxy as a sandbox's only way out) is tested in sandbox-egress.test.ts.
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curl, startEgressProxy, startSite, type Running } from '../helpers/egress.js';

/** Names the test hook points at special-purpose addresses; the hook lets names reach private addresses, never these. */
const SPECIAL: Record<string, string> = {
  'nat64.special.test': '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
  'nat64local.special.test': '64:ff9b:1::a00:1', // local-use NAT64 of 10.0.0.1
  'sixtofour.special.test': '2002:a9fe:a9fe::1', // 6to4 of 169.254.169.254
  'teredo.special.test': '2001:0:a9fe:a9fe::1',
  'compat.special.test': '::a9fe:a9fe', // IPv4-compatible 169.254.169.254
  'sitelocal.special.test': 'fec0::1',
  'bench.special.test': '198.18.0.1',
  'ietf.special.test': '192.0.0.1',
  'reserved.special.test': '240.0.0.1',
};
const TEST_HOSTS = [
  'pypi.test=127.0.0.1',
  'api.mirror.test=127.0.0.1',
  'other.test=127.0.0.1',
  'meta.test=169.254.169.254',
  ...Object.entries(SPECIAL).map(([n, a]) => `${n}=${a}`),
].flatMap((h) => ['--test-host', h]);

let site: Awaited<ReturnType<typeof startSite>>;
let proxy: Running;
let strict: Running;
let hostAddress: string;
before(async () => {
  site = await startSite('127.0.0.1');
  proxy = await startEgressProxy([
    '--allow',
    'pypi.test',
    '--allow',
    '*.mirror.test',
    '--allow',
    'meta.test',
    '--allow',
    '*.special.test',
    ...TEST_HOSTS,
  ]);
  // This machine's name, resolved by real DNS (/etc/hosts), and that address given as one of the host's.
  hostAddress = (await lookup(hostname())).address;
  strict = await startEgressProxy(['--allow', 'localhost', '--allow', hostname(), '--deny', hostAddress]);
});
after(async () => {
  await proxy?.close();
  await strict?.close();
  await site?.close();
});

describe('egress proxy', { timeout: 120_000 }, () => {
  test('allowlisted names answer, over plain HTTP and through a CONNECT tunnel', async () => {
    assert.match(
      (await curl(proxy.url, `http://pypi.test:${site.port}/simple/`)).out,
      new RegExp(`hello from pypi.test:${site.port}`),
    );
    assert.match((await curl(proxy.url, `http://api.mirror.test:${site.port}/`)).out, /hello from api\.mirror\.test/);
    const tunnelled = await curl(proxy.url, `http://pypi.test:${site.port}/`, ['--proxytunnel']);
    assert.match(tunnelled.out, /hello from pypi\.test/);
  });

  test('other names, raw IPs, the host and metadata addresses are refused, and the output says why', async () => {
    const cases: [string, RegExp, string[]?][] = [
      [
        `http://other.test:${site.port}/`,
        /^keel egress: other\.test is not in the allowlist \(pypi\.test, \*\.mirror\.test, meta\.test, \*\.special\.test\)$/m,
      ],
      [`http://mirror.test:${site.port}/`, /keel egress: mirror\.test is not in the allowlist/],
      [`http://127.0.0.1:${site.port}/`, /keel egress: 127\.0\.0\.1 is a raw IP address/],
      ['http://169.254.169.254/latest/meta-data/', /keel egress: 169\.254\.169\.254 is a raw IP address/],
      [`http://[::1]:${site.port}/`, /keel egress: \[?::1\]? is a raw IP address/],
      [
        'http://meta.test/latest/meta-data/',
        /keel egress: meta\.test resolves to 169\.254\.169\.254, a link-local or metadata address/,
      ],
      ['http://host.docker.internal/', /keel egress: host\.docker\.internal is not in the allowlist/],
    ];
    for (const [url, why, extra] of cases) {
      const r = await curl(proxy.url, url, extra);
      assert.match(r.out, why, `${url}: ${r.out}`);
      assert.doesNotMatch(r.out, /hello from/);
    }
    for (const target of [`169.254.169.254:80`, `other.test:${site.port}`]) {
      const v = await curl(proxy.url, `http://${target}/`, ['--proxytunnel', '-v']);
      assert.match(v.out, /< HTTP\/1\.1 403 keel egress: /, `CONNECT ${target} is refused with the reason: ${v.out}`);
      assert.doesNotMatch(v.out, /hello from/);
    }
  });

  test('names resolving to NAT64, 6to4, Teredo, IPv4-compatible, site-local or reserved addresses are refused', async () => {
    for (const [name, address] of Object.entries(SPECIAL)) {
      const r = await curl(proxy.url, `http://${name}:${site.port}/`);
      assert.match(
        r.out,
        new RegExp(
          `keel egress: ${name.replace(/\./g, '\\.')} resolves to ${address.replace(/\./g, '\\.')}, a special-purpose address`,
        ),
        `${name}: ${r.out}`,
      );
      assert.doesNotMatch(r.out, /hello from/);
    }
  });

  test('without the test hook, allowed names resolving to loopback or the host itself are refused', async () => {
    const r = await curl(strict.url, `http://localhost:${site.port}/`);
    assert.match(
      r.out,
      /keel egress: localhost resolves to (127\.0\.0\.1|::1), a loopback or private address or one of the host's/,
    );
    const own = await curl(strict.url, `http://${hostname()}:${site.port}/`);
    assert.match(
      own.out,
      new RegExp(
        `keel egress: ${hostname()} resolves to ${hostAddress.replace(/\./g, '\\.')}, a loopback or private address or one of the host's`,
      ),
    );
  });
});
