// Starts a real idgate (the debug binary built by cargo) on 127.0.0.1:0 with its own data
// dir, runs CLI commands against it, reads codes from its dev outbox, and launches Debian's
// Chromium through playwright-core. Nothing leaves 127.0.0.1.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const artifacts = resolve(here, '..', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const BIN = process.env.IDGATE_BIN || join(repo, 'target', 'debug', 'idgate');
const MASTER = 'e2e-master-secret-0123456789abcdef0123456789abcdef';

export class Idgate {
  constructor(env = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'idgate-e2e-'));
    this.env = {
      ...process.env,
      IDGATE_DATA_DIR: join(this.dir, 'data'),
      IDGATE_SECRETS__MASTER_SECRET: MASTER,
      IDGATE_SERVER__LISTEN: '127.0.0.1:0',
      IDGATE_LOG__FORMAT: 'json',
      IDGATE_PHONE__DEFAULT_REGION: 'US',
      ...env,
    };
    delete this.env.IDGATE_CONFIG;
    delete this.env.RUST_LOG;
  }

  /** Runs `idgate ARGS` (stdin optional) and returns stdout. */
  cli(args, input = '') {
    return execFileSync(BIN, args, { env: this.env, cwd: this.dir, input, encoding: 'utf8' });
  }

  /** Starts `idgate serve` on a free port, with the issuer set to match (browsers send an
   *  Origin header that idgate checks against the issuer); resolves once it listens. */
  async start() {
    const port = await freePort();
    this.env.IDGATE_SERVER__LISTEN = `127.0.0.1:${port}`;
    this.env.IDGATE_SERVER__ISSUER = `http://127.0.0.1:${port}`;
    this.proc = spawn(BIN, ['serve'], { env: this.env, cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.logs = '';
    const addr = await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('idgate did not start in 60 s:\n' + this.logs)), 60000);
      this.proc.stderr.on('data', (chunk) => {
        this.logs += chunk;
        const m = /"message":"idgate listening"[^\n]*"addr":"([^"]+)"|"addr":"([^"]+)"[^\n]*"message":"idgate listening"/.exec(this.logs);
        if (m) { clearTimeout(timer); ok(m[1] || m[2]); }
      });
      this.proc.stdout.on('data', (chunk) => { this.logs += chunk; });
      this.proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`idgate exited (${code}):\n${this.logs}`)); });
    });
    this.base = `http://${addr}`;
    return this;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.removeAllListeners('exit');
      this.proc.kill('SIGTERM');
      await new Promise((ok) => this.proc.on('exit', ok));
    }
  }

  /** The newest dev-outbox message to `to` (waits up to 5 s). */
  async lastMessageTo(to) {
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${this.base}/dev/outbox.json?to=${encodeURIComponent(to)}&limit=1`);
      const v = await r.json();
      if (v.messages.length) return v.messages[0];
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`no message to ${to}`);
  }

  /** How many dev-outbox messages went to `to`. */
  async countTo(to) {
    const r = await fetch(`${this.base}/dev/outbox.json?to=${encodeURIComponent(to)}&limit=500`);
    return (await r.json()).messages.length;
  }

  /** The demo user's password, printed once on stdout by the first start (waits up to 5 s). */
  async demoPassword() {
    for (let i = 0; i < 50; i++) {
      const m = /^\s*password: (\S+)\s*$/m.exec(this.logs);
      if (m) return m[1];
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`idgate printed no demo password:\n${this.logs}`);
  }

  /** An admin token (created once, with the CLI) for `api`. */
  adminToken() {
    this.token ??= this.cli(['admin', 'token', 'create', '--name', 'e2e']).trim();
    return this.token;
  }

  /** Calls the admin API; returns `{ status, body }` and throws unless the status is `expect`. */
  async api(method, path, body, expect = 200) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken()}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await r.text();
    const json = text ? JSON.parse(text) : null;
    if (expect !== null && r.status !== expect) {
      throw new Error(`${method} ${path} answered ${r.status}, expected ${expect}: ${text}`);
    }
    return { status: r.status, body: json };
  }
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

/** The code in a message text: the last run of 4–10 digits or A–Z0–9. */
export function codeIn(text) {
  const words = text.split(/[^A-Za-z0-9]+/).filter((w) => /^[A-Z0-9]{4,10}$/.test(w) && /\d/.test(w));
  return words[words.length - 1];
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

/** Saves a full-page screenshot as artifacts/NAME.png. */
export async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}
