// The console's SigV4 signer (web/sigv4.js) in node, with the hash package the page loads
// (web/node_modules/@noble/hashes, `npm ci --prefix web`), against AWS's published test suite
// (aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case) and against what
// streamarcd reads: a presigned URL's parameters, a POST body's hash.
import assert from 'node:assert/strict';
import test from 'node:test';

import { hmac } from '../../web/node_modules/@noble/hashes/hmac.js';
import { sha256 } from '../../web/node_modules/@noble/hashes/sha2.js';
import { amzDate, kEmptySha256, makeSigner, uriEncode } from '../../web/sigv4.js';

const signer = makeSigner({ sha256, hmac });
// The suite's credentials and moment.
const kCreds = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
};
const kNow = new Date(Date.UTC(2015, 7, 30, 12, 36, 0));

test('get-vanilla: the canonical request and signature AWS publishes', () => {
  const url = new URL('https://example.amazonaws.com/');
  assert.equal(
      signer.canonicalRequest({
        method: 'GET', url,
        headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
        payloadHash: kEmptySha256,
      }),
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' +
      kEmptySha256);
  const headers = signer.sign({ method: 'GET', url: url.href }, kCreds, 'service', kNow);
  assert.equal(headers['x-amz-date'], '20150830T123600Z');
  assert.equal(headers.authorization,
               'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
               'SignedHeaders=host;x-amz-date, ' +
               'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
});

test('get-vanilla-query-order-key-case: query parameters are sorted', () => {
  const headers = signer.sign(
      { method: 'GET', url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1' },
      kCreds, 'service', kNow);
  assert.match(headers.authorization,
               /Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/);
});

test('hashes: SHA-256 of text as UTF-8, and HMAC-SHA256 (RFC 4231 case 2)', () => {
  assert.equal(signer.sha256Hex(''), kEmptySha256);
  assert.equal(signer.sha256Hex('abc'),
               'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  // Not Latin-1: a stream name in the body is hashed as the bytes fetch sends.
  assert.equal(signer.sha256Hex('é'), signer.sha256Hex(new Uint8Array([0xc3, 0xa9])));
  const mac = hmac(sha256, new TextEncoder().encode('Jefe'),
                   new TextEncoder().encode('what do ya want for nothing?'));
  assert.equal(Buffer.from(mac).toString('hex'),
               '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('a POST signs its body: another body, another signature', () => {
  const request = (body) => ({ method: 'POST', url: 'http://192.0.2.10:8080/listStreams', body });
  const creds = { ...kCreds, region: 'eu-west-1' };
  const a = signer.sign(request('{}'), creds, 'kinesisvideo', kNow);
  const b = signer.sign(request('{"MaxResults":1}'), creds, 'kinesisvideo', kNow);
  assert.match(a.authorization,
               /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/kinesisvideo\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/);
  assert.notEqual(a.authorization, b.authorization);
  // The host signed is the URL's, port included: what the browser sends as Host.
  assert.match(signer.canonicalRequest({ method: 'POST', url: new URL(request().url),
                                         headers: { host: '192.0.2.10:8080' }, payloadHash: 'x' }),
               /\nhost:192\.0\.2\.10:8080\n/);
});

test('a presigned URL carries the X-Amz-* parameters, encoded as SigV4 encodes them', () => {
  const url = signer.presign('http://127.0.0.1:8080/thumbnail?StreamName=cam%201', kCreds,
                             'kinesisvideo', 300, kNow);
  const q = new URL(url).searchParams;
  assert.equal(q.get('StreamName'), 'cam 1');
  assert.equal(q.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
  assert.equal(q.get('X-Amz-Credential'), 'AKIDEXAMPLE/20150830/us-east-1/kinesisvideo/aws4_request');
  assert.equal(q.get('X-Amz-Date'), '20150830T123600Z');
  assert.equal(q.get('X-Amz-Expires'), '300');
  assert.equal(q.get('X-Amz-SignedHeaders'), 'host');
  assert.match(q.get('X-Amz-Signature'), /^[0-9a-f]{64}$/);
  // Encoded as SigV4 encodes (a space is %20, never '+'), and the signature last.
  assert.match(url, /\?StreamName=cam%201&X-Amz-Algorithm=/);
  assert.match(url, /&X-Amz-Signature=[0-9a-f]{64}$/);
  // Presigning again replaces the old parameters rather than adding to them.
  const again = signer.presign(url, kCreds, 'kinesisvideo', 300, kNow);
  assert.equal(again, url);
});

test('encoding and dates as SigV4 writes them', () => {
  assert.equal(uriEncode("a b+c/d~e_f.g-h!'()*"), 'a%20b%2Bc%2Fd~e_f.g-h%21%27%28%29%2A');
  assert.equal(uriEncode('/a b/c', true), '/a%20b/c');
  assert.equal(amzDate(kNow), '20150830T123600Z');
});
