// The browser console (web/) against a streamarcd with access keys, in headless Chromium:
//  - /health says "sigv4" and no key is stored: the page asks for one before any call;
//  - a wrong secret brings the form back with the server's refusal;
//  - the right key lists the streams and plays a live stream (every call signed);
//  - a presigned GET (/thumbnail) passes the server's check, an unsigned one does not;
//  - a key without a right gets AccessDeniedException shown as an error, not the form;
//  - "remember on this device" keeps the key for a new tab, Sign out forgets it.
// Twice: at http://127.0.0.1 (a secure context: crypto.subtle exists) and at this machine's
// non-loopback address (plain http: no crypto.subtle, the path a LAN user takes), when it has
// one. The streams are made with the AWS CLI (botocore's signer); the camera's PutMedia is
// signed with web/sigv4.js in node.
//
// Run: STREAMARCD=build/server/streamarcd node --test tests/browser/console_auth.test.js
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');
const { promisify } = require('node:util');

const support = require('./support');
const { startLiveProducer } = require('./live_producer');

const kWaitMs = 60_000;
const kAdmin = { id: 'AKIDCONSOLEADMIN', secret: 'admin-secret-0123456789' };
const kViewer = { id: 'AKIDCONSOLEVIEWER', secret: 'viewer-secret-0123456789' };
const kCamera = { id: 'AKIDCONSOLECAMERA', secret: 'camera-secret-0123456789' };
const kRegion = 'eu-west-1';

function writeConfig() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamarc-auth-config-'));
  const file = path.join(dir, 'streamarc.json');
  fs.writeFileSync(file, JSON.stringify({ 'access-keys': [
    { 'access-key-id': kAdmin.id, 'secret-access-key': kAdmin.secret },
    { 'access-key-id': kViewer.id, 'secret-access-key': kViewer.secret, actions: ['read'] },
    { 'access-key-id': kCamera.id, 'secret-access-key': kCamera.secret, actions: ['write'] },
  ] }));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// This machine's first non-loopback IPv4 address, or null.
function lanAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return null;
}

// A port free now on every address: --public-url must name it before the server starts.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function aws(key, url, args) {
  const { stdout } = await promisify(execFile)('/usr/bin/aws', [
    '--endpoint-url', url, '--output', 'json', ...args,
  ], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: key.id, AWS_SECRET_ACCESS_KEY: key.secret,
           AWS_DEFAULT_REGION: kRegion, AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null',
           AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
  });
  return stdout ? JSON.parse(stdout) : {};
}

async function nodeSigner() {
  const { hmac } = await import('../../web/node_modules/@noble/hashes/hmac.js');
  const { sha256 } = await import('../../web/node_modules/@noble/hashes/sha2.js');
  const { makeSigner } = await import('../../web/sigv4.js');
  return makeSigner({ sha256, hmac });
}

// The console at `base` (the page's origin) on `server`, which it stops when done: the
// whole sign-in story.
async function consoleStory(t, server, base, { secureContext }) {
  const stream = `auth-console-${process.pid}-${secureContext ? 'local' : 'lan'}`;
  let producer, browser;
  t.after(async () => {
    if (producer) await producer.stop();
    if (browser) await browser.close();
    assert.equal(await server.stop(), 0, 'streamarcd did not shut down cleanly:\n' + server.log());
  });
  const signer = await nodeSigner();
  await aws(kAdmin, server.url, ['kinesisvideo', 'create-stream', '--stream-name', stream,
                                 '--data-retention-in-hours', '24']);
  // PutMedia signs the empty body, as KVS producers do.
  producer = startLiveProducer(server.url, stream, {
    headers: (url, headers) => signer.sign({ method: 'POST', url, headers },
                                           { accessKeyId: kCamera.id, secretAccessKey: kCamera.secret,
                                             region: kRegion }, 'kinesisvideo'),
  });

  browser = await support.launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  const refusals = [];  // [status, url] of every 403 the server answered
  const watch = (page) => {
    page.on('console', (m) => {
      // Chromium's own line for each refusal this test provokes (403s, and the 404 of a
      // server without a thumbnail); the responses themselves are checked.
      if (m.type() === 'error' && !/status of 40[34]/.test(m.text())) errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`pageerror ${e.message}`));
    page.on('response', (r) => { if (r.status() === 403) refusals.push(r.url()); });
  };
  const signIn = async (page, key, { remember = false } = {}) => {
    const form = page.locator('dialog#signin[open] form');
    await form.waitFor({ timeout: kWaitMs });
    await form.locator('input[name=accessKeyId]').fill(key.id);
    await form.locator('input[name=secretAccessKey]').fill(key.secret);
    await form.locator('input[name=region]').fill(kRegion);
    await form.locator('input[name=remember]').setChecked(remember);
    await form.locator('button[type=submit]').click();
  };
  const row = (page) => page.locator(`tr[data-stream="${stream}"]`);

  const page = await context.newPage();
  watch(page);

  await t.test('the page asks for a key before calling; a wrong secret brings the form back',
               async () => {
    await page.goto(`${base}/`);
    await page.locator('dialog#signin[open]').waitFor({ timeout: kWaitMs });
    assert.deepEqual(refusals, [], 'an unsigned call was made before the form was shown');
    const env = await page.evaluate(() => ({ secure: window.isSecureContext,
                                             subtle: Boolean(window.crypto && crypto.subtle) }));
    assert.deepEqual(env, { secure: secureContext, subtle: secureContext },
                     `${base}: not the context this half is meant to test`);
    await signIn(page, { id: kAdmin.id, secret: 'not-the-secret' });
    const error = page.locator('dialog#signin[open] .error:not([hidden])');
    await error.waitFor({ timeout: kWaitMs });
    assert.match(await error.textContent(), /refused the signature[\s\S]*InvalidSignatureException/);
    assert.ok(refusals.length > 0);
    // The access key stays filled in; only the secret is asked again.
    assert.equal(await page.inputValue('dialog#signin input[name=accessKeyId]'), kAdmin.id);
  });

  await t.test('signed in, the streams page lists the stream, live', async () => {
    refusals.length = 0;
    await signIn(page, kAdmin);
    await row(page).waitFor({ timeout: kWaitMs });
    await page.waitForFunction((s) => {
      const r = document.querySelector(`tr[data-stream="${s}"] td.bitrate`);
      return r && /bit\/s/.test(r.textContent);
    }, stream, { timeout: kWaitMs, polling: 250 });
    assert.equal(await page.locator('dialog#signin').count(), 0);
    assert.equal(await page.textContent('#signout-box .who'), kAdmin.id);
    assert.deepEqual(refusals, []);
  });

  await t.test('a presigned GET passes the check; an unsigned one is refused', async () => {
    const r = await page.evaluate(async (s) => {
      const api = await import('/web/api.js');
      const url = await api.thumbnailUrl(s);
      const signed = await fetch(url);
      const unsigned = await fetch(`/thumbnail?StreamName=${encodeURIComponent(s)}`);
      return { url, signed: [signed.status, signed.headers.get('x-amzn-ErrorType')],
               unsigned: [unsigned.status, unsigned.headers.get('x-amzn-ErrorType')] };
    }, stream);
    assert.match(r.url, /X-Amz-Signature=[0-9a-f]{64}$/);
    // Past the signature: this server runs no frame tap, so it has no thumbnail to give.
    assert.equal(r.signed[0], 404, JSON.stringify(r));
    assert.equal(r.unsigned[0], 403, JSON.stringify(r));
    assert.match(r.unsigned[1], /^MissingAuthenticationTokenException/);
    refusals.length = 0;
  });

  await t.test('the stream page plays the live stream', async () => {
    await row(page).locator('td.name a').click();
    await page.waitForFunction(() => document.getElementById('video').currentTime > 2, null,
                               { timeout: kWaitMs, polling: 200 })
        .catch(async (e) => assert.fail(`no live playback: ${e.message} ` +
                                        await page.textContent('#error')));
    assert.equal(await page.evaluate(() => document.body.dataset.mode), 'live');
    await page.waitForFunction(() => window.streamarcConsole.timeline.spans.length > 0, null,
                               { timeout: kWaitMs, polling: 200 });
    assert.deepEqual(refusals, []);
  });

  await t.test('a key without the right sees AccessDeniedException, not the form', async () => {
    await page.click('#signout');
    await signIn(page, kViewer, { remember: true });
    await page.goto(`${base}/`);
    await row(page).waitFor({ timeout: kWaitMs });
    await page.fill('#create input[name=name]', `${stream}-denied`);
    await page.click('#create button');
    await page.waitForFunction(() => !document.getElementById('error').hidden, null,
                               { timeout: kWaitMs });
    assert.match(await page.textContent('#error'),
                 /createStream: AccessDeniedException: access key AKIDCONSOLEVIEWER may not/);
    assert.equal(await page.locator('dialog#signin').count(), 0);
  });

  await t.test('a remembered key serves a new tab; Sign out forgets it', async () => {
    const other = await context.newPage();
    watch(other);
    await other.goto(`${base}/`);
    await row(other).waitFor({ timeout: kWaitMs });
    assert.equal(await other.locator('dialog#signin').count(), 0);
    await other.click('#signout');
    await other.locator('dialog#signin[open]').waitFor({ timeout: kWaitMs });
    assert.equal(await other.evaluate(() => localStorage.getItem('streamarc.credentials') ??
                                            sessionStorage.getItem('streamarc.credentials')),
                 null);
    await other.close();
  });

  assert.deepEqual(errors, [], 'errors in the browser console');
}

test('the console signs in and signs its calls to a server with access keys', async (t) => {
  const config = writeConfig();
  t.after(() => config.remove());

  await t.test('at http://127.0.0.1', async (tt) => {
    const server = await support.startServer({ args: ['--config', config.file] });
    await consoleStory(tt, server, server.url, { secureContext: true });
  });

  const lan = lanAddress();
  await t.test('at this machine\'s LAN address (no crypto.subtle)',
               { skip: lan ? false : 'this machine has no non-loopback IPv4 address' },
               async (tt) => {
    const port = await freePort();
    const base = `http://${lan}:${port}`;
    const server = await support.startServer({
      host: '0.0.0.0', port, args: ['--config', config.file, '--public-url', base],
    });
    await consoleStory(tt, server, base, { secureContext: false });
  });
});
