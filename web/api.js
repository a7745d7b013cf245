// Every call the console makes to streamarcd goes through this module: the KVS API as
// JSON POSTs to the page's own origin, signed with AWS Signature Version 4 when the person has
// given an access key (signin.js asks for one when the server wants it), and presigned URLs
// for GETs the page cannot add headers to.
import { hmac } from '/web/vendor/noble-hashes/hmac.js';
import { sha256 } from '/web/vendor/noble-hashes/sha2.js';

import * as signin from './signin.js';
import { makeSigner } from './sigv4.js';

const kService = 'kinesisvideo';
const kDefaultRegion = 'us-east-1';
// Long enough for an <img> to load, short enough that a copied URL is soon useless.
const kPresignSeconds = 300;
// The refusals that mean "no key, or not a key of this server": asking for another can help.
// AccessDeniedException is not one: the key is good, it lacks the right.
const kSignInErrors = new Set(['MissingAuthenticationTokenException',
                               'UnrecognizedClientException', 'InvalidSignatureException']);

// @noble/hashes (web/node_modules, pinned by package-lock.json) rather than crypto.subtle,
// which a page opened over plain http at a LAN address does not have.
const signer = makeSigner({ sha256, hmac });

// An API refusal, with KVS's error type (x-amzn-ErrorType or the body's __type) and message.
export class ApiError extends Error {
  constructor(op, status, type, message) {
    super(`${op}: ${type || 'HTTP ' + status}${message ? ': ' + message : ''}`);
    this.op = op;
    this.status = status;
    this.type = type;
  }
}

async function errorOf(op, response) {
  let type = (response.headers.get('x-amzn-ErrorType') || '').split(':')[0];
  let message = '';
  try {
    const j = JSON.parse(await response.text());
    message = j.message || j.Message || '';
    type = type || (j.__type || '').split('#').pop();
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new ApiError(op, response.status, type, message);
}

// /health's "authentication" ("sigv4" when the server has access keys), asked once a page.
let authentication = null;
function serverAuthentication() {
  authentication ??= fetch('/health')
      .then((r) => r.json())
      .then((j) => j.authentication || '')
      .catch(() => '');  // unknown: the first call's answer says whether a key is needed
  return authentication;
}

// The key to sign with: the one given, else, when the server wants one, what the sign-in
// form is given. null: unsigned.
async function credentials() {
  const creds = signin.current();
  if (creds) return creds;
  return (await serverAuthentication()) === 'sigv4' ? signin.ask(null) : null;
}

function withRegion(creds) {
  return { ...creds, region: creds.region || kDefaultRegion };
}

function sameKey(a, b) {
  return (!a && !b) || (a && b && a.accessKeyId === b.accessKeyId &&
                        a.secretAccessKey === b.secretAccessKey && a.region === b.region);
}

// POST /<op> with a JSON body; resolves with the fetch Response once its status is 2xx.
// Refused for want of a (good) key, it asks for one and tries again, as often as it takes.
async function post(op, body, base = '') {
  const text = JSON.stringify(body);
  const url = new URL(`${base}/${op}`, location.href);
  for (;;) {
    const creds = await credentials();
    const headers = { 'content-type': 'application/json' };
    if (creds) {
      Object.assign(headers, signer.sign({ method: 'POST', url: url.href, body: text },
                                         withRegion(creds), kService));
    }
    let response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: text });
    } catch (e) {
      throw new ApiError(op, 0, 'NetworkError', `the server did not answer (${e.message})`);
    }
    if (response.ok) return response;
    const error = await errorOf(op, response);
    if (response.status !== 403 || !kSignInErrors.has(error.type)) throw error;
    // A key given while this call was under way is tried without asking again.
    if (sameKey(creds, signin.current())) await signin.ask(refusal(error));
  }
}

// Why the sign-in form is back, in words: the server's own message after its error type.
function refusal(error) {
  const why = {
    MissingAuthenticationTokenException: 'This server accepts signed requests only.',
    UnrecognizedClientException: 'The server does not know this access key.',
    InvalidSignatureException: 'The server refused the signature (a wrong secret, or this ' +
                               "device's clock is more than 5 minutes off).",
  }[error.type];
  return `${why}\n${error.message}`;
}

// `path` on the page's origin with `params`, as a URL an <img src> (or any plain GET) can
// load: presigned for kPresignSeconds when a key is given, else as is.
export async function signedGetUrl(path, params = {}) {
  const url = new URL(path, location.href);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  // SigV4 reads '+' as itself: a space goes as %20.
  url.search = url.search.replace(/\+/g, '%20');
  const creds = await credentials();
  return creds ? signer.presign(url.href, withRegion(creds), kService, kPresignSeconds) : url.href;
}

// The latest key frame of a live stream as JPEG (GET /thumbnail; needs the frame tap).
export function thumbnailUrl(name) {
  return signedGetUrl('/thumbnail', { StreamName: name });
}

async function postJson(op, body, base) {
  return (await post(op, body, base)).json();
}

// Every stream, following NextToken.
export async function listStreams() {
  const out = [];
  let token;
  do {
    const j = await postJson('listStreams', token ? { NextToken: token } : { MaxResults: 10000 });
    out.push(...(j.StreamInfoList || []));
    token = j.NextToken;
  } while (token);
  return out;
}

export async function describeStream(name) {
  return (await postJson('describeStream', { StreamName: name })).StreamInfo;
}

export function createStream(name, retentionHours) {
  return postJson('createStream', { StreamName: name, DataRetentionInHours: retentionHours });
}

export function deleteStream(arn) {
  return postJson('deleteStream', { StreamARN: arn });
}

// Fragments whose server timestamps fall in [start, end] (epoch seconds), one page.
export async function listFragments(name, start, end, maxResults = 1000) {
  const j = await postJson('listFragments', {
    StreamName: name,
    MaxResults: maxResults,
    FragmentSelector: {
      FragmentSelectorType: 'SERVER_TIMESTAMP',
      TimestampRange: { StartTimestamp: start, EndTimestamp: end },
    },
  });
  return j.Fragments || [];
}

// Recorded spans of [start, end] (epoch seconds, producer time) merged across gaps shorter
// than `minGap` seconds; at most `maxResults` (a timeline never needs more than its pixels).
export async function listRecordingSpans(name, start, end, minGap, maxResults = 10000) {
  const j = await postJson('listRecordingSpans', {
    StreamName: name,
    TimestampRange: { StartTimestamp: start, EndTimestamp: end },
    TimestampType: 'PRODUCER_TIMESTAMP',
    MinGapSeconds: minGap,
    MaxResults: maxResults,
  });
  return j.Spans || [];
}

// The data endpoint KVS clients call for HLS. When it is another origin than the page's
// (a --public-url the browser does not use), the page's own origin serves the same API and
// is the one the request guard lets the page call.
async function dataEndpoint(name) {
  const j = await postJson('getDataEndpoint',
                           { StreamName: name, APIName: 'GET_HLS_STREAMING_SESSION_URL' });
  try {
    if (new URL(j.DataEndpoint).origin === location.origin) return j.DataEndpoint;
  } catch {
    // Not a URL: use the page's origin.
  }
  return '';
}

// An HLS session URL: LIVE, or ON_DEMAND over [start, end] (epoch seconds, producer time).
// fMP4, with EXT-X-PROGRAM-DATE-TIME on every segment (the console shows the frame's time).
export async function hlsSessionUrl(name, start, end) {
  const base = await dataEndpoint(name);
  const body = {
    StreamName: name,
    PlaybackMode: start === undefined ? 'LIVE' : 'ON_DEMAND',
    ContainerFormat: 'FRAGMENTED_MP4',
    DisplayFragmentTimestamp: 'ALWAYS',
    Expires: 43200,
  };
  // Producer timestamps: the frame time shown is the camera's, as on the timeline (LIVE
  // would default to the server's arrival times).
  body.HLSFragmentSelector = { FragmentSelectorType: 'PRODUCER_TIMESTAMP' };
  if (start !== undefined) {
    body.HLSFragmentSelector.TimestampRange = { StartTimestamp: start, EndTimestamp: end };
  }
  return (await postJson('getHLSStreamingSessionURL', body, base)).HLSStreamingSessionURL;
}

// One JPEG of the frame at `time` (epoch seconds, producer time), `width` pixels wide, as a
// data: URL; null when nothing was recorded then.
export async function getImage(name, time, width = 160) {
  const j = await postJson('getImages', {
    StreamName: name,
    ImageSelectorType: 'PRODUCER_TIMESTAMP',
    StartTimestamp: time,
    EndTimestamp: time,
    SamplingInterval: 3000,
    Format: 'JPEG',
    WidthPixels: width,
    MaxResults: 1,
  });
  const image = (j.Images || [])[0];
  return image && image.ImageContent ? `data:image/jpeg;base64,${image.ImageContent}` : null;
}

// Analysis events overlapping [start, end] (epoch seconds), up to `maxResults`.
export async function listEvents(name, start, end, maxResults = 1000) {
  const j = await postJson('listEvents', {
    StreamName: name,
    TimestampRange: { StartTimestamp: start, EndTimestamp: end },
    MaxResults: maxResults,
  });
  return j.Events || [];
}

// An MP4 of [start, end] (epoch seconds, producer time), as a Blob. `onProgress(received,
// total)` is called as bytes arrive (total: null when the server does not say).
export async function getClip(name, start, end, onProgress) {
  const response = await post('getClip', {
    StreamName: name,
    ClipFragmentSelector: {
      FragmentSelectorType: 'PRODUCER_TIMESTAMP',
      TimestampRange: { StartTimestamp: start, EndTimestamp: end },
    },
  });
  const length = Number(response.headers.get('content-length')) || null;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, length);
  }
  return new Blob(chunks, { type: response.headers.get('content-type') || 'video/mp4' });
}
