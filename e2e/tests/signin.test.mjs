// Sign-in journeys in a real browser: password, then a code read from the dev outbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Idgate, browser, codeIn, shot } from '../lib/idgate.mjs';
import { callbackServer, authorizeRequest, exchange } from '../lib/rp.mjs';

const MOBILE = '+14155550123';
const DOUBLE_CLICK_USERS = [['dbl-js', '+14155550131'], ['dbl-nojs', '+14155550132']];
let idg, rp, app, chromium;

before(async () => {
  idg = new Idgate();
  idg.cli(['user', 'add', '--username', 'alice', '--mobile', MOBILE, '--mobile-verified'], 'correct horse battery\n');
  // Own numbers for the double-click journeys (each number has its own send limit).
  for (const [name, mobile] of DOUBLE_CLICK_USERS) {
    idg.cli(['user', 'add', '--username', name, '--mobile', mobile, '--mobile-verified'], 'correct horse battery\n');
  }
  rp = await callbackServer();
  const out = idg.cli(['app', 'add', '--name', 'Shop', '--redirect-uri', rp.redirectUri]);
  app = {
    id: /client_id: (\S+)/.exec(out)[1],
    secret: /client_secret: (\S+)/.exec(out)[1],
  };
  await idg.start();
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  rp?.close();
  await idg?.stop();
});

async function signInWithPassword(page, name, username = 'alice') {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('correct horse battery');
  await shot(page, `${name}-1-password`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  try {
    await page.getByLabel('Verification code').waitFor({ timeout: 10000 });
  } catch (e) {
    await shot(page, `${name}-failed`);
    throw new Error(`no code page after the password; the page says: ${(await page.innerText('body')).slice(0, 500)}`);
  }
}

test('password then SMS code signs in to a relying party', async () => {
  const page = await chromium.newPage();
  const req = authorizeRequest(idg.base, app.id, rp.redirectUri);
  await page.goto(req.url);
  await signInWithPassword(page, 'sms');
  const code = codeIn((await idg.lastMessageTo(MOBILE)).text);
  const input = page.getByLabel('Verification code');
  assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
  assert.match(await page.content(), /••••••0123/);
  await input.fill(code);
  await shot(page, 'sms-2-code');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((u) => u.href.startsWith(rp.redirectUri));
  await shot(page, 'sms-3-back-at-app');
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('state'), req.state);
  const { claims } = await exchange(idg.base, app.id, app.secret, rp.redirectUri, back.searchParams.get('code'), req.verifier);
  assert.deepEqual(claims.amr, ['pwd', 'sms', 'mfa']);
  assert.equal(claims.nonce, req.nonce);
  assert.equal(claims.preferred_username, 'alice');
  await page.close();
});

test('a wrong code says how many attempts are left, then the right code works', async () => {
  const context = await chromium.newContext();
  const page = await context.newPage();
  const req = authorizeRequest(idg.base, app.id, rp.redirectUri, { prompt: 'login' });
  await page.goto(req.url);
  await signInWithPassword(page, 'wrong');
  const code = codeIn((await idg.lastMessageTo(MOBILE)).text);
  const wrong = code === '000000' ? '111111' : '000000';
  await page.getByLabel('Verification code').fill(wrong);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByText(/attempts? left/i).waitFor();
  await shot(page, 'wrong-2-attempts-left');
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((u) => u.href.startsWith(rp.redirectUri));
  await context.close();
});

test('resend is refused inside the cooldown and works after it', async () => {
  const token = idg.cli(['admin', 'token', 'create', '--name', 'e2e']).trim();
  const r = await fetch(`${idg.base}/api/v1/otp-policy`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resend_cooldown: 2 }),
  });
  assert.equal(r.status, 200);
  const context = await chromium.newContext();
  const page = await context.newPage();
  await page.goto(authorizeRequest(idg.base, app.id, rp.redirectUri, { prompt: 'login' }).url);
  await signInWithPassword(page, 'resend');
  const first = codeIn((await idg.lastMessageTo(MOBILE)).text);
  const sent = await idg.countTo(MOBILE);
  const resend = page.getByRole('button', { name: 'Resend code' });
  assert.equal(await resend.isDisabled(), true, 'disabled during the cooldown');
  await shot(page, 'resend-1-cooldown');
  await page.waitForTimeout(2500);
  await page.goto(`${idg.base}/login`); // not reload(): that would post the password again
  await page.getByRole('button', { name: 'Resend code' }).click();
  await page.getByLabel('Verification code').waitFor();
  assert.equal(await idg.countTo(MOBILE), sent + 1, 'one more message went out');
  const second = codeIn((await idg.lastMessageTo(MOBILE)).text);
  await shot(page, 'resend-2-sent');
  if (first !== second) {
    await page.getByLabel('Verification code').fill(first);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText(/attempts? left/i).waitFor();
  }
  await page.getByLabel('Verification code').fill(second);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((u) => u.href.startsWith(rp.redirectUri));
  await context.close();
});

// A double-clicked "Verify" lands at the application signed in once — with the page's
// submit-once script, and without it (the server's forward of a resubmitted code).
for (const [javaScriptEnabled, [username, mobile]] of [[true, DOUBLE_CLICK_USERS[0]], [false, DOUBLE_CLICK_USERS[1]]]) {
  test(`a double-clicked Verify signs in once (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await chromium.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const req = authorizeRequest(idg.base, app.id, rp.redirectUri, { prompt: 'login' });
    const before = await signinCount();
    await page.goto(req.url);
    await signInWithPassword(page, `dblclick-js-${javaScriptEnabled}`, username);
    const code = codeIn((await idg.lastMessageTo(mobile)).text);
    await page.getByLabel('Verification code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).dblclick();
    await page.waitForURL((u) => u.href.startsWith(rp.redirectUri));
    await shot(page, `dblclick-js-${javaScriptEnabled}-back-at-app`);
    const back = new URL(page.url());
    assert.equal(back.searchParams.get('state'), req.state);
    const { claims } = await exchange(idg.base, app.id, app.secret, rp.redirectUri, back.searchParams.get('code'), req.verifier);
    assert.deepEqual(claims.amr, ['pwd', 'sms', 'mfa']);
    assert.equal(claims.preferred_username, username);
    assert.equal(await signinCount(), before + 1, 'one sign-in counted');
    await context.close();
  });
}

async function signinCount() {
  const text = await (await fetch(`${idg.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('idgate_signins_total{factors="password+sms"}'));
  return Number(line.split(' ').pop());
}
