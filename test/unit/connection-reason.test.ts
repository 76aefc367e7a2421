// Connection failures in words: the dumps Temporal's transports really produce (taken from this machine) become
// short reasons; ordinary messages stay as they are.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionReason, isTransportDump } from '../../src/connection.js';

describe('connectionReason', { timeout: 10_000 }, () => {
  const cases: [string, string][] = [
    [
      'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:9, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))',
      'connection refused',
    ],
    [
      'tonic::transport::Error(Transport, ConnectError(ConnectError("dns error", Custom { kind: Uncategorized, error: "failed to lookup address information: Name or service not known" })))',
      'the host name does not resolve',
    ],
    ['Failed to connect before the deadline', 'no answer in time'],
    [
      'tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: InvalidData, error: "invalid peer certificate: UnknownIssuer" }))',
      'invalid peer certificate: UnknownIssuer',
    ],
    ['14 UNAVAILABLE: upstream connect error', '14 UNAVAILABLE: upstream connect error'],
  ];
  for (const [message, reason] of cases) {
    test(`${message.slice(0, 50)}... -> ${reason}`, () => {
      assert.equal(connectionReason(message), reason);
      assert.doesNotMatch(connectionReason(message), /::|\w\(\w+\(/);
    });
  }

  test('only dumps count as dumps (an IPv6 address or a call in words does not)', () => {
    assert.ok(isTransportDump(cases[0][0]));
    assert.ok(!isTransportDump('cannot reach Temporal at [fe80::1]:7233 (connection refused)'));
    assert.ok(!isTransportDump('run failed: get_weather(city) failed'));
  });
});
