// A minimal relying party for the journeys: a callback server on 127.0.0.1:0, PKCE, the
// authorize URL, and the server-side code exchange — what any OIDC client library does.
import http from 'node:http';
import crypto from 'node:crypto';

export async function callbackServer() {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(new URL(req.url, 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>RP</title><h1>Back at the application</h1>');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { hits, redirectUri: `http://127.0.0.1:${port}/cb`, close: () => server.close() };
}

const b64url = (buf) => buf.toString('base64url');

export function authorizeRequest(base, clientId, redirectUri, extra = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  const state = b64url(crypto.randomBytes(12));
  const nonce = b64url(crypto.randomBytes(12));
  const params = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    scope: 'openid profile phone', state, nonce,
    code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  });
  return { url: `${base}/authorize?${params}`, verifier, state, nonce };
}

export async function exchange(base, clientId, secret, redirectUri, code, verifier) {
  const r = await fetch(`${base}/token`, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`token endpoint said ${r.status}: ${JSON.stringify(body)}`);
  const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
  return { tokens: body, claims };
}
