// AWS Signature Version 4 (AWS4-HMAC-SHA256), as streamarcd verifies it (server/auth.h,
// common/sigv4.h): an Authorization header for an API call, or a presigned URL for a GET the
// page cannot add headers to (an <img src>).
//
// The hash functions come in from the caller: api.js passes @noble/hashes (served from
// web/node_modules at /web/vendor/noble-hashes/), the node test the same package from its
// own path. Not crypto.subtle, which a page opened at http://192.168.x.x does not have.
// Synchronous and free of the DOM, so it runs unchanged in node.

export const kEmptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const kAlgorithm = 'AWS4-HMAC-SHA256';

// RFC 3986 as SigV4 wants it: unreserved characters kept, the rest %XX upper-case.
export function uriEncode(s, keepSlash = false) {
  const out = encodeURIComponent(s).replace(/[!'()*]/g,
      (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? out.replace(/%2F/g, '/') : out;
}

// "YYYYMMDDTHHMMSSZ" for a Date.
export function amzDate(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// The pairs of a query as sent ("?a=1&b=%20"), decoded. '+' stays '+', as the server reads
// it (URLSearchParams would make it a space).
function queryPairs(search) {
  return search.replace(/^\?/, '').split('&').filter((p) => p).map((p) => {
    const eq = p.indexOf('=');
    const [k, v] = eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
    return [decodeURIComponent(k), decodeURIComponent(v)];
  });
}

// Query pairs encoded and sorted by key, then value.
function canonicalQuery(pairs) {
  pairs = pairs.map(([k, v]) => [uriEncode(k), uriEncode(v)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

// `sha256(bytes)` and `hmac(hash, key, bytes)` with @noble/hashes's signatures.
export function makeSigner({ sha256, hmac }) {
  const encoder = new TextEncoder();
  const bytes = (data) => (typeof data === 'string' ? encoder.encode(data) : data);
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const sha256Hex = (data) => hex(sha256(bytes(data)));
  const mac = (key, data) => hmac(sha256, bytes(key), bytes(data));

  // { method, url (a URL), headers: {lowercase name: value}, payloadHash } -> the six lines.
  function canonicalRequest({ method, url, headers, payloadHash }) {
    const names = Object.keys(headers).sort();
    // The path as the server decodes it, encoded once (KVS is not S3: no double encoding).
    const path = url.pathname.split('/').map((p) => uriEncode(decodeURIComponent(p))).join('/');
    return [
      method,
      path || '/',
      canonicalQuery(queryPairs(url.search)),
      names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}\n`).join(''),
      names.join(';'),
      payloadHash,
    ].join('\n');
  }

  function signature(canonical, creds, stamp, scope) {
    const toSign = [kAlgorithm, stamp, scope, sha256Hex(canonical)].join('\n');
    const [date, region, service] = scope.split('/');
    let key = mac(`AWS4${creds.secretAccessKey}`, date);
    key = mac(key, region);
    key = mac(key, service);
    key = mac(key, 'aws4_request');
    return hex(mac(key, toSign));
  }

  return {
    sha256Hex,
    canonicalRequest,

    // The headers to add to a request: x-amz-date and authorization. `request`: { method,
    // url (absolute string or URL), body (string or bytes; absent: empty), headers (to sign
    // besides host and x-amz-date) }; `creds`: { accessKeyId, secretAccessKey, region }.
    sign(request, creds, service, now = new Date()) {
      const url = new URL(request.url);
      const stamp = amzDate(now);
      const scope = `${stamp.slice(0, 8)}/${creds.region}/${service}/aws4_request`;
      const headers = { host: url.host, 'x-amz-date': stamp };
      for (const [k, v] of Object.entries(request.headers || {})) headers[k.toLowerCase()] = v;
      const canonical = canonicalRequest({
        method: request.method,
        url,
        headers,
        payloadHash: request.body === undefined ? kEmptySha256 : sha256Hex(request.body),
      });
      return {
        'x-amz-date': stamp,
        authorization: `${kAlgorithm} Credential=${creds.accessKeyId}/${scope}, ` +
                       `SignedHeaders=${Object.keys(headers).sort().join(';')}, ` +
                       `Signature=${signature(canonical, creds, stamp, scope)}`,
      };
    },

    // `url` (absolute) with X-Amz-* parameters: a GET anyone holding it may make until
    // `expiresSeconds` from `now`. Signs host only and the empty body, as KVS's presigners do.
    presign(url, creds, service, expiresSeconds, now = new Date()) {
      const out = new URL(url);
      const stamp = amzDate(now);
      const scope = `${stamp.slice(0, 8)}/${creds.region}/${service}/aws4_request`;
      const pairs = queryPairs(out.search).filter(([k]) => !k.startsWith('X-Amz-'));
      pairs.push(['X-Amz-Algorithm', kAlgorithm], ['X-Amz-Credential', `${creds.accessKeyId}/${scope}`],
                 ['X-Amz-Date', stamp], ['X-Amz-Expires', String(expiresSeconds)],
                 ['X-Amz-SignedHeaders', 'host']);
      out.search = canonicalQuery(pairs);
      const canonical = canonicalRequest({
        method: 'GET', url: out, headers: { host: out.host }, payloadHash: kEmptySha256,
      });
      const sig = signature(canonical, creds, stamp, scope);
      out.search += `&X-Amz-Signature=${sig}`;
      return out.toString();
    },
  };
}
