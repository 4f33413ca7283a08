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

const JWS_ALGS = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  RS256: { hash: 'sha256' },
};

/**
 * Verifies an ID token independently of idgate's own RP: the signature against the key the
 * discovery document's `jwks_uri` publishes (ES256 or RS256, chosen by `kid`), `typ`, `iss`,
 * `aud` and `exp`. Returns the claims; throws on any mismatch.
 */
export async function verifyIdToken(issuer, jwt, audience) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  if (discovery.issuer !== issuer) throw new Error(`discovery issuer ${discovery.issuer} ≠ ${issuer}`);
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS (${keys.map((k) => k.kid).join(', ')})`);
  const alg = JWS_ALGS[header.alg];
  if (!alg || (jwk.alg && jwk.alg !== header.alg)) throw new Error(`unexpected alg ${header.alg} (key says ${jwk.alg})`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = crypto.verify(alg.hash, Buffer.from(`${h}.${p}`), alg.dsaEncoding ? { key, dsaEncoding: alg.dsaEncoding } : key, Buffer.from(s, 'base64url'));
  if (!ok) throw new Error('the ID token signature does not verify against the JWKS');
  if (header.typ && header.typ !== 'JWT') throw new Error(`ID token typ ${header.typ}`);
  if (claims.iss !== issuer) throw new Error(`iss ${claims.iss} ≠ ${issuer}`);
  if (claims.aud !== audience && !(Array.isArray(claims.aud) && claims.aud.includes(audience))) throw new Error(`aud ${claims.aud} ≠ ${audience}`);
  if (!(claims.exp > Date.now() / 1000)) throw new Error(`the ID token expired (exp ${claims.exp})`);
  return claims;
}
