// The fake D7 gateway refuses what D7 refuses (shared/reference/d7-api.md), so a journey
// that passes through it sent D7 a request D7 would accept. No browser, no idgate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeD7, D7_TOKEN } from '../lib/fake-d7.mjs';

let d7;
before(async () => { d7 = await startFakeD7({ deliveryReports: false }); });
after(async () => { await d7?.close(); });

async function post(path, body, { token = D7_TOKEN, type = 'application/json' } = {}) {
  const r = await fetch(`${d7.base}${path}`, {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, body: await r.json() };
}

const sms = (m = {}) => ({ messages: [{ channel: 'sms', recipients: ['+971509752655'], content: 'Your code is 123456', msg_type: 'text', data_coding: 'text', originator: 'SignOTP', ...m }] });
const wa = (payload = '123456', m = {}) => ({
  messages: [{
    originator: '+971501234567',
    content: { message_type: 'TEMPLATE', template: { template_id: 'otp_test', language: 'en', buttons: { actions: [{ action_index: '0', action_type: 'url', action_payload: payload }] } } },
    recipients: [{ recipient: '+971509752655', recipient_type: 'individual' }],
    ...m,
  }],
});

test('accepts D7\'s documented SMS body and answers with a request_id', async () => {
  const r = await post('/messages/v1/send', sms());
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'accepted');
  assert.match(r.body.request_id, /^[0-9a-f-]{36}$/);
  const [m] = d7.messagesTo('+971509752655', 'sms');
  assert.equal(m.text, 'Your code is 123456');
  assert.equal(m.requestId, r.body.request_id);
});

test('refuses a wrong or missing token with D7\'s 401', async () => {
  for (const token of ['wrong', null]) {
    const r = await post('/messages/v1/send', sms(), { token });
    assert.equal(r.status, 401);
    assert.equal(r.body.detail.code, 'ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED');
  }
});

test('refuses bad SMS bodies with FastAPI\'s 422 naming the field', async () => {
  for (const [body, field] of [
    [sms({ recipients: ['4155550100'] }), 'recipients'],
    [sms({ recipients: ['+1 415 555 0100'] }), 'recipients'],
    [sms({ recipients: [] }), 'recipients'],
    [sms({ content: '' }), 'content'],
    [sms({ originator: 'WayTooLongSender' }), 'originator'],
    [sms({ originator: undefined }), 'originator'],
    [sms({ channel: 'whatsapp' }), 'channel'],
    [sms({ data_coding: 'latin1' }), 'data_coding'],
    [{ messages: [] }, 'messages'],
  ]) {
    const r = await post('/messages/v1/send', body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.ok(r.body.detail[0].loc.includes(field), `${JSON.stringify(r.body)} names ${field}`);
  }
  assert.equal((await post('/messages/v1/send', '{"messages": [')).status, 422, 'not JSON');
  assert.equal((await post('/messages/v1/send', 'messages=x', { type: 'application/x-www-form-urlencoded' })).status, 422, 'not JSON content');
});

test('takes the originator from message_globals', async () => {
  const body = sms({ originator: undefined });
  body.message_globals = { originator: 'SignOTP' };
  assert.equal((await post('/messages/v1/send', body)).status, 200);
});

test('accepts the WhatsApp authentication template and refuses what D7 refuses', async () => {
  assert.equal((await post('/whatsapp/v2/send', wa())).status, 200);
  assert.equal(d7.messagesTo('+971509752655', 'whatsapp').at(-1).text, '123456');
  for (const [body, field] of [
    [wa('1234567890123456'), 'action_payload'],
    [wa('123456', { originator: '+91 90615 255xx' }), 'originator'],
    [wa('123456', { recipients: [{ recipient: '971 50 975 2655' }] }), 'recipients'],
    [wa('123456', { content: { message_type: 'TEXT' } }), 'message_type'],
  ]) {
    const r = await post('/whatsapp/v2/send', body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.ok(r.body.detail[0].loc.includes(field), `${JSON.stringify(r.body)} names ${field}`);
  }
});

test('unknown paths are 404 and queued faults answer once', async () => {
  assert.equal((await post('/messages/v2/send', sms())).status, 404);
  d7.failNext(402);
  const r = await post('/messages/v1/send', sms());
  assert.equal(r.status, 402);
  assert.equal(r.body.detail.code, 'INSUFFICIENT_CREDIT');
  assert.equal((await post('/messages/v1/send', sms())).status, 200);
});
