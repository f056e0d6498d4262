// TEST ONLY: the processes behind the browser test, each started here and stopped here.
//
// - the OpenID Provider (tests/oidc/provider.mjs, npm `oidc-provider`), which prints its issuer;
// - `tollgate serve` (the binary the Rust test build made) on ports the kernel picks, read back
//   from its JSON log line "tollgate serving";
// - grpcurl calls as the agent: Authorize, GetApproval, and a WaitForDecision stream kept open.
//
// Every child is tracked; stopAll() ends them (SIGTERM, then SIGKILL after a bounded wait) and
// runs on success, on failure and on process exit, so nothing outlives the test.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const AGENT_TOKEN = 'e2e-agent-token';
// Rita, a reviewer, may also ask for things herself (a user requester).
export const RITA_TOKEN = 'e2e-rita-token';
export const MFA = 'urn:tollgate:test:mfa';

const children = new Set();

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
// Interrupted (Ctrl-C, a CI timeout): the children go too.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(130));
}

// A child process whose output is collected; `waitFor` resolves when the output matches.
class Child {
  constructor(name, command, args, options) {
    this.name = name;
    this.out = '';
    this.err = '';
    this.process = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        children.delete(this);
        resolve({ code, signal });
      });
    });
    this.process.on('error', (e) => {
      this.err += `\nspawn ${command} failed: ${e.message}`;
      children.delete(this);
    });
    this.process.stdout.setEncoding('utf8').on('data', (d) => { this.out += d; });
    this.process.stderr.setEncoding('utf8').on('data', (d) => { this.err += d; });
    children.add(this);
  }

  kill(signal) {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill(signal);
    }
  }

  // Resolves with `test(stdout, stderr)`'s first truthy value, or rejects after `ms` or when
  // the process ends without it.
  waitFor(what, test, ms) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = test(this.out, this.err);
        if (found) {
          done();
          resolve(found);
        }
      };
      const fail = (why) => {
        done();
        reject(new Error(`${this.name}: ${why} waiting for ${what}\nstdout:\n${this.out}\nstderr:\n${this.err.slice(-4000)}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${ms} ms`), ms);
      const onExit = () => setImmediate(() => { check(); fail('exited'); });
      const onError = () => fail('could not start');
      const done = () => {
        clearTimeout(timer);
        this.process.stdout.off('data', check);
        this.process.stderr.off('data', check);
        this.process.off('exit', onExit);
        this.process.off('error', onError);
      };
      this.process.stdout.on('data', check);
      this.process.stderr.on('data', check);
      this.process.on('exit', onExit);
      this.process.on('error', onError);
      if (this.process.exitCode !== null || this.process.signalCode !== null) onExit();
      check();
    });
  }

  async stop() {
    if (!children.has(this)) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function stopAll() {
  await Promise.all([...children].map((c) => c.stop()));
}

// The tollgate binary: $TOLLGATE_BIN, else the debug build in $CARGO_TARGET_DIR or target/.
export function tollgateBin() {
  if (process.env.TOLLGATE_BIN) return process.env.TOLLGATE_BIN;
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO, process.env.CARGO_TARGET_DIR)
    : path.join(REPO, 'target');
  return path.join(target, 'debug', 'tollgate');
}

export async function startProvider() {
  const op = new Child('oidc provider', 'node', ['provider.mjs'], { cwd: path.join(REPO, 'tests/oidc') });
  const issuer = await op.waitFor('LISTENING', (out) => out.match(/^LISTENING (\S+)\n/m)?.[1], 60_000);
  return { issuer, child: op };
}

// `tollgate serve` with `policy` as its bundle, the agent's static token, and a console that
// signs reviewers in through the provider at `issuer`.
export async function startTollgate(issuer, policy) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-e2e-'));
  const bundle = path.join(dir, 'bundle');
  mkdirSync(bundle);
  writeFileSync(path.join(bundle, 'policy.rego'), policy);
  const config = {
    grpc_addr: '127.0.0.1:0',
    http_addr: '127.0.0.1:0',
    data_dir: path.join(dir, 'data'),
    bundle: { path: bundle, watch: false },
    auth: {
      mode: 'verified',
      tokens: [
        { token: AGENT_TOKEN, id: 'agent:deployer', kind: 'agent', owner: 'team:platform' },
        { token: RITA_TOKEN, id: 'user:rita@example.com', kind: 'user', groups: ['reviewers'] },
      ],
      jwt: {
        issuers: [{
          issuer,
          audiences: ['tollgate-console'],
          algorithms: ['RS256', 'ES256'],
          claims: { id: 'email' },
        }],
      },
    },
    console: {
      oidc: {
        issuer,
        client_id: 'tollgate-console',
        client_secret: 'tollgate-console-secret',
        scopes: 'email groups',
        step_up_acr_values: MFA,
      },
    },
    log: { format: 'json', level: 'info' },
  };
  // JSON is YAML.
  const file = path.join(dir, 'tollgate.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const bin = tollgateBin();
  const server = new Child('tollgate', bin, ['serve', '--config', file], { cwd: dir });
  const serving = await server.waitFor('"tollgate serving"', (_, err) => {
    for (const line of err.split('\n')) {
      if (!line.includes('tollgate serving')) continue;
      try {
        const v = JSON.parse(line);
        const fields = v.fields ?? v;
        if (fields.grpc && fields.http) return fields;
      } catch {
        // a partial line: the next chunk completes it
      }
    }
    return undefined;
  }, 60_000);
  return {
    grpc: serving.grpc,
    console: `http://${serving.http}`,
    child: server,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function grpcurlArgs(grpc, method, body, token = AGENT_TOKEN) {
  return ['-plaintext', '-H', `authorization: Bearer ${token}`, '-d', JSON.stringify(body), grpc, method];
}

// One unary call with `token` (default: the agent's); its JSON answer.
export function grpcCall(grpc, method, body, token = AGENT_TOKEN) {
  const r = spawnSync('grpcurl', grpcurlArgs(grpc, method, body, token), { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    throw new Error(`grpcurl ${method} failed (${r.status ?? r.error}): ${r.stdout}${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

// The agent's WaitForDecision stream on `approvalId`, running in the background.
export function waitForDecision(grpc, approvalId) {
  return new Child('WaitForDecision', 'grpcurl', grpcurlArgs(grpc, 'tollgate.v1.Approvals/WaitForDecision', { approvalId }), {});
}
