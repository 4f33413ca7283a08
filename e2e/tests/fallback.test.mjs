// Channel fallback at sign-in, in a real browser: the application's flow asks for a
// WhatsApp code and says `channel_fallback: send`; the fake D7 WhatsApp endpoint answers
// errors, so the code arrives by SMS — the page says it went by SMS, the code signs in,
// and the ID token records the SMS factor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Idgate, browser, codeIn, shot } from '../lib/idgate.mjs';
import { callbackServer, authorizeRequest, exchange } from '../lib/rp.mjs';
import { startFakeD7, D7_TOKEN } from '../lib/fake-d7.mjs';

const MOBILE = '+14155550161';
let idg, rp, d7, app, chromium;

before(async () => {
  d7 = await startFakeD7({ deliveryReports: false });
  idg = new Idgate();
  idg.cli(['user', 'add', '--username', 'wanda', '--mobile', MOBILE, '--mobile-verified'], 'correct horse battery\n');
  rp = await callbackServer();
  const out = idg.cli(['app', 'add', '--name', 'Shop', '--redirect-uri', rp.redirectUri]);
  app = { id: /client_id: (\S+)/.exec(out)[1], secret: /client_secret: (\S+)/.exec(out)[1] };
  await idg.start();
  await idg.api('POST', '/api/v1/channels/sms/providers', {
    name: 'd7', kind: 'd7-sms', settings: { originator: 'SignOTP', base_url: d7.base },
    secrets: { api_token: D7_TOKEN },
  }, 201);
  await idg.api('POST', '/api/v1/channels/whatsapp/providers', {
    name: 'd7-wa', kind: 'd7-whatsapp',
    settings: { originator: '+971501234567', template_id: 'otp_test', base_url: d7.base },
    secrets: { api_token: D7_TOKEN },
  }, 201);
  await idg.api('PATCH', `/api/v1/applications/${app.id}`, {
    login_flow: { first: 'password', second: ['whatsapp-otp'], channel_fallback: 'send' },
  });
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  rp?.close();
  await idg?.stop();
  await d7?.close();
});

test('WhatsApp cannot deliver: the code arrives by SMS and the page says so', async () => {
  d7.failAlways('/whatsapp/v2/send', 500);
  const page = await chromium.newPage();
  const req = authorizeRequest(idg.base, app.id, rp.redirectUri);
  await page.goto(req.url);
  await page.getByLabel('Username').fill('wanda');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Verification code').waitFor({ timeout: 15000 });
  const body = await page.innerText('body');
  assert.match(body, /We sent a code by SMS to ••••••0161\./);
  assert.match(body, /It could not be sent by WhatsApp, so we sent it by SMS\./);
  await shot(page, 'fallback-1-code-by-sms');
  assert.ok(d7.requests.some((r) => r.path === '/whatsapp/v2/send' && r.status === 500), 'WhatsApp was tried');
  assert.equal(d7.messagesTo(MOBILE, 'whatsapp').length, 0);
  const sms = await d7.waitForMessage(MOBILE, { channel: 'sms' });
  await page.getByLabel('Verification code').fill(codeIn(sms.text));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((u) => u.href.startsWith(rp.redirectUri));
  const back = new URL(page.url());
  const { claims } = await exchange(idg.base, app.id, app.secret, rp.redirectUri, back.searchParams.get('code'), req.verifier);
  assert.deepEqual(claims.amr, ['pwd', 'sms', 'mfa']);
});
