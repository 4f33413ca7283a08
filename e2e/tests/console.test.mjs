// The admin console in a real browser: an admin signs in (password + SMS code from the
// dev outbox), every console page is opened and screenshotted, the payload template is
// validated live (console.js), an application is created and its secret shown once; a
// non-admin is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Idgate, browser, codeIn, shot } from '../lib/idgate.mjs';

const ADMIN_MOBILE = '+14155550111';
const USER_MOBILE = '+14155550112';
let idg, chromium;

before(async () => {
  idg = new Idgate();
  idg.cli(['user', 'add', '--username', 'root', '--mobile', ADMIN_MOBILE, '--mobile-verified', '--admin'], 'correct horse battery\n');
  idg.cli(['user', 'add', '--username', 'bob', '--mobile', USER_MOBILE, '--mobile-verified'], 'correct horse battery\n');
  await idg.start();
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await idg?.stop();
});

async function signIn(page, username, mobile) {
  await page.goto(`${idg.base}/console`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Verification code').waitFor({ timeout: 10000 });
  const code = codeIn((await idg.lastMessageTo(mobile)).text);
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

test('an admin signs in and uses every console page', async () => {
  const context = await chromium.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await signIn(page, 'root', ADMIN_MOBILE);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await shot(page, 'console-01-overview');
  for (const [path, name] of [
    ['/console/channels/sms', 'console-02-sms-custom'],
    ['/console/channels/sms?tab=d7', 'console-03-sms-d7'],
    ['/console/channels/sms?tab=twilio', 'console-04-sms-twilio'],
    ['/console/channels/whatsapp', 'console-05-whatsapp'],
    ['/console/otp', 'console-06-sms-otp-settings'],
    ['/console/applications', 'console-07-applications'],
    ['/console/users', 'console-08-users'],
    ['/console/messages', 'console-09-messages'],
    ['/console/audit', 'console-10-audit'],
  ]) {
    const r = await page.goto(`${idg.base}${path}`);
    assert.equal(r.status(), 200, path);
    await shot(page, name);
  }
  // Live validation of the payload template (console.js, no inline script).
  await page.goto(`${idg.base}/console/channels/sms?tab=custom`);
  await page.getByLabel('Payload Template').fill('{"to": {{mobile}}, "text": {{body}}');
  await page.getByText(/line 1, column/).waitFor({ timeout: 5000 });
  await shot(page, 'console-11-live-validation');
  // Create an application: the secret is shown once.
  await page.goto(`${idg.base}/console/applications`);
  await page.getByLabel('Name', { exact: true }).fill('Shop');
  await page.getByLabel('Redirect URIs (one per line)').fill('https://shop.example.com/callback');
  await page.getByRole('button', { name: 'Create application' }).click();
  await page.getByText('Client secret (shown only now)').waitFor();
  await shot(page, 'console-12-application-created');
  assert.deepEqual(errors.filter((e) => /Content Security Policy/i.test(e)), [], 'no CSP violation');
  await context.close();
});

test('a non-admin is refused the console', async () => {
  const context = await chromium.newContext();
  const page = await context.newPage();
  await signIn(page, 'bob', USER_MOBILE);
  await page.getByText('not an administrator').waitFor();
  await shot(page, 'console-13-non-admin-refused');
  await context.close();
});
