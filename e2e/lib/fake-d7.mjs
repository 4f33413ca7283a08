// A fake D7 Networks gateway on 127.0.0.1:0 for the browser journeys: `POST /messages/v1/send`
// (SMS) and `POST /whatsapp/v2/send` (WhatsApp authentication template), checked the way
// shared/reference/d7-api.md describes D7's API — bearer token, JSON body, E.164 recipients,
// D7's answer and error shapes — and recorded, so a test reads the one-time code from what
// "D7" was asked to deliver. It posts a delivery report to the message's `report_url`, as D7
// does. Nothing leaves 127.0.0.1.
//
// Deliberate choices where D7 is looser or unknown:
// - recipients must carry the `+` (D7 also takes digits alone; idgate always sends E.164, so a
//   number without `+` here is a bug worth failing on);
// - `channel` may be left out of an SMS message (the seed guide's template has none and D7
//   accepts it), but when present must be `sms`;
// - a body that is not JSON, or sent without `Content-Type: application/json`, gets FastAPI's
//   422 (D7's API is FastAPI: `{"detail": [{"loc", "msg", "type"}]}`).
import http from 'node:http';
import crypto from 'node:crypto';

export const D7_TOKEN = 'd7-e2e-token-0123456789';

const E164 = /^\+[1-9][0-9]{6,14}$/;
// A registered sender id (at most 11 letters/digits/spaces) or a number with country code.
const SENDER_ID = /^[A-Za-z0-9 ]{1,11}$/;
const NUMBER_ORIGINATOR = /^\+?[1-9][0-9]{6,14}$/;

class Refusal extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

/** FastAPI's 422: one field problem at `loc` (under `body`). */
function invalid(loc, msg, type = 'value_error') {
  return new Refusal(422, [{ loc: ['body', ...loc], msg, type }]);
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const nonEmptyString = (v) => typeof v === 'string' && v.length > 0;

/** D7's checks for `/messages/v1/send`; returns the messages to record. */
function checkSms(body) {
  if (!isObject(body)) throw invalid([], 'value is not a valid dict', 'type_error.dict');
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) throw invalid(['messages'], 'field required', 'value_error.missing');
  const globals = isObject(body.message_globals) ? body.message_globals : {};
  const out = [];
  msgs.forEach((m, i) => {
    const at = (f) => ['messages', i, f];
    if (!isObject(m)) throw invalid(['messages', i], 'value is not a valid dict', 'type_error.dict');
    if (m.channel !== undefined && m.channel !== 'sms') throw invalid(at('channel'), "unexpected value; permitted: 'sms'", 'value_error.const');
    if (!Array.isArray(m.recipients) || m.recipients.length === 0) throw invalid(at('recipients'), 'field required', 'value_error.missing');
    m.recipients.forEach((r, j) => {
      if (typeof r !== 'string' || !E164.test(r)) throw invalid(['messages', i, 'recipients', j], `invalid recipient ${JSON.stringify(r)}: expected E.164 (+ and 7-15 digits)`);
    });
    if (!nonEmptyString(m.content)) throw invalid(at('content'), 'field required', 'value_error.missing');
    const originator = m.originator ?? globals.originator;
    if (!nonEmptyString(originator)) throw invalid(at('originator'), 'field required', 'value_error.missing');
    if (!SENDER_ID.test(originator) && !NUMBER_ORIGINATOR.test(originator)) {
      throw invalid(at('originator'), 'a sender id of at most 11 characters or a number with country code');
    }
    if (m.data_coding !== undefined && !['text', 'unicode', 'auto'].includes(m.data_coding)) {
      throw invalid(at('data_coding'), "unexpected value; permitted: 'text', 'unicode', 'auto'", 'value_error.const');
    }
    if (m.msg_type !== undefined && m.msg_type !== 'text') throw invalid(at('msg_type'), "unexpected value; permitted: 'text'", 'value_error.const');
    const reportUrl = m.report_url ?? globals.report_url;
    if (reportUrl !== undefined && !/^https?:\/\/\S+$/.test(reportUrl)) throw invalid(at('report_url'), 'invalid or missing URL scheme', 'value_error.url.scheme');
    for (const to of m.recipients) {
      out.push({ channel: 'sms', to, text: m.content, originator, reportUrl, clientRef: m.client_ref });
    }
  });
  return out;
}

/** D7's checks for `/whatsapp/v2/send` with an authentication (OTP) template. */
function checkWhatsapp(body) {
  if (!isObject(body)) throw invalid([], 'value is not a valid dict', 'type_error.dict');
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) throw invalid(['messages'], 'field required', 'value_error.missing');
  const out = [];
  msgs.forEach((m, i) => {
    const at = (...f) => ['messages', i, ...f];
    if (!isObject(m)) throw invalid(['messages', i], 'value is not a valid dict', 'type_error.dict');
    // The WhatsApp Business number approved by Meta: digits with the country code, no spaces.
    if (!nonEmptyString(m.originator)) throw invalid(at('originator'), 'field required', 'value_error.missing');
    if (!NUMBER_ORIGINATOR.test(m.originator)) throw invalid(at('originator'), `invalid originator ${JSON.stringify(m.originator)}: a WhatsApp Business number without spaces`);
    const c = m.content;
    if (!isObject(c)) throw invalid(at('content'), 'field required', 'value_error.missing');
    if (c.message_type !== 'TEMPLATE') throw invalid(at('content', 'message_type'), "authentication codes go out as message_type 'TEMPLATE'", 'value_error.const');
    const t = c.template;
    if (!isObject(t)) throw invalid(at('content', 'template'), 'field required', 'value_error.missing');
    if (!nonEmptyString(t.template_id)) throw invalid(at('content', 'template', 'template_id'), 'field required', 'value_error.missing');
    if (!nonEmptyString(t.language)) throw invalid(at('content', 'template', 'language'), 'field required', 'value_error.missing');
    const action = t.buttons?.actions?.[0];
    if (!isObject(action)) throw invalid(at('content', 'template', 'buttons', 'actions'), 'field required', 'value_error.missing');
    if (action.action_type !== 'url') throw invalid(at('content', 'template', 'buttons', 'actions', 0, 'action_type'), "unexpected value; permitted: 'url'", 'value_error.const');
    const payload = action.action_payload;
    if (!nonEmptyString(payload) || [...payload].length > 15) {
      throw invalid(at('content', 'template', 'buttons', 'actions', 0, 'action_payload'), 'ensure this value has 1 to 15 characters', 'value_error.any_str.max_length');
    }
    if (!Array.isArray(m.recipients) || m.recipients.length === 0) throw invalid(at('recipients'), 'field required', 'value_error.missing');
    m.recipients.forEach((r, j) => {
      // Current shape: {"recipient": "+…", "recipient_type": "individual"}; older samples: "+…".
      const to = isObject(r) ? r.recipient : r;
      if (typeof to !== 'string' || !E164.test(to)) throw invalid(at('recipients', j), `invalid recipient ${JSON.stringify(to)}: expected E.164 (+ and 7-15 digits)`);
      if (isObject(r) && r.recipient_type !== undefined && r.recipient_type !== 'individual') {
        throw invalid(at('recipients', j, 'recipient_type'), "unexpected value; permitted: 'individual'", 'value_error.const');
      }
    });
    if (m.report_url !== undefined && !/^https?:\/\/\S+$/.test(m.report_url)) throw invalid(at('report_url'), 'invalid or missing URL scheme', 'value_error.url.scheme');
    for (const r of m.recipients) {
      out.push({ channel: 'whatsapp', to: isObject(r) ? r.recipient : r, text: payload, originator: m.originator, reportUrl: m.report_url, clientRef: m.client_ref, templateId: t.template_id });
    }
  });
  return out;
}

const ROUTES = {
  '/messages/v1/send': checkSms,
  '/whatsapp/v2/send': checkWhatsapp,
};

/**
 * Starts the fake gateway. `token` is the API token it accepts; `deliveryReports` (default
 * true) makes it POST a `delivered` report to each message's `report_url`.
 */
export async function startFakeD7({ token = D7_TOKEN, deliveryReports = true } = {}) {
  const requests = []; // every request: { path, status, headers, body, answer }
  const messages = []; // every accepted message: { channel, to, text, requestId, at, ... }
  const faults = []; // queued answers for the next requests: { status, detail }
  const failing = new Map(); // path → { status, detail }: every request to it fails
  const waiters = new Set();
  const reports = [];

  function notify() {
    for (const w of [...waiters]) w();
  }

  async function deliveryReport(m) {
    try {
      const r = await fetch(m.reportUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          request_id: m.requestId, msg_id: crypto.randomUUID(), recipient: m.to,
          originator: m.originator, status: 'delivered', channel: m.channel,
        }),
        signal: AbortSignal.timeout(5000),
      });
      reports.push({ url: m.reportUrl, status: r.status, answer: (await r.text()).slice(0, 300) });
    } catch (e) {
      reports.push({ url: m.reportUrl, error: String(e) });
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url, 'http://127.0.0.1').pathname;
      const answer = (status, body) => {
        requests.push({ path, method: req.method, status, headers: req.headers, body: raw, answer: body });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
        notify();
      };
      const check = ROUTES[path];
      if (!check) return answer(404, { detail: 'Not Found' });
      if (req.method !== 'POST') return answer(405, { detail: 'Method Not Allowed' });
      if (req.headers.authorization !== `Bearer ${token}`) {
        return answer(401, { detail: { code: 'ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED', message: 'It looks like your requested token signature is invalid.' } });
      }
      const standing = failing.get(path);
      if (standing) return answer(standing.status, { detail: standing.detail });
      const fault = faults.shift();
      if (fault) return answer(fault.status, { detail: fault.detail });
      try {
        if (!/^application\/json\b/i.test(req.headers['content-type'] || '')) {
          throw invalid([], 'value is not a valid dict (Content-Type must be application/json)', 'type_error.dict');
        }
        let body;
        try {
          body = JSON.parse(raw);
        } catch (e) {
          throw invalid([0], `JSON decode error: ${e.message}`, 'value_error.jsondecode');
        }
        const requestId = crypto.randomUUID();
        const at = Date.now();
        const accepted = check(body).map((m) => ({ ...m, requestId, at, path }));
        messages.push(...accepted);
        answer(200, { request_id: requestId, status: 'accepted', created_at: new Date(at).toISOString() });
        if (deliveryReports) {
          for (const m of accepted) if (m.reportUrl) deliveryReport(m);
        }
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        answer(e.status, { detail: e.detail });
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;

  return {
    base,
    token,
    requests,
    messages,
    reports,
    /** The next request gets this answer instead (e.g. 402 `{code, message}`). */
    failNext(status, detail = { code: 'INSUFFICIENT_CREDIT', message: 'Insufficient credit.' }) {
      faults.push({ status, detail });
    },
    /** Every request to `path` gets this answer (null: answer normally again). */
    failAlways(path, status, detail = { message: 'internal error' }) {
      if (status === null) failing.delete(path);
      else failing.set(path, { status, detail });
    },
    /** Requests that were not accepted (a journey expects none). */
    refused() {
      return requests.filter((r) => r.status !== 200);
    },
    /** Accepted messages to `to` (optionally on one channel). */
    messagesTo(to, channel) {
      return messages.filter((m) => m.to === to && (!channel || m.channel === channel));
    },
    /**
     * Waits (at most `timeout` ms) for the `n`-th accepted message (counting from 1) to `to`,
     * optionally on one `channel`. On timeout it fails with what the gateway refused, so a
     * request D7 would reject is reported plainly instead of as a missing code.
     */
    async waitForMessage(to, { channel, n = 1, timeout = 10000 } = {}) {
      const found = () => this.messagesTo(to, channel)[n - 1];
      if (found()) return found();
      return new Promise((ok, fail) => {
        const done = () => {
          const m = found();
          if (m) { cleanup(); ok(m); }
        };
        const timer = setTimeout(() => {
          cleanup();
          const refused = this.refused().map((r) => `${r.path} → ${r.status} ${JSON.stringify(r.answer)}`);
          fail(new Error(`fake D7: no ${channel || ''} message #${n} to ${to} within ${timeout} ms` +
            (refused.length ? `; refused: ${refused.join(' | ')}` : '; nothing was refused')));
        }, timeout);
        const cleanup = () => { clearTimeout(timer); waiters.delete(done); };
        waiters.add(done);
      });
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((ok) => server.close(ok));
    },
  };
}
