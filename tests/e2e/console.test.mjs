// TEST ONLY: the reviewer console in a real browser, end to end.
//
// Debian's Chromium (headless, driven by npm `playwright-core`) signs reviewers in through the
// real OpenID Provider's own sign-in page (tests/oidc), against `tollgate serve` (the binary of
// the Rust test build). An agent creates requests over gRPC (grpcurl) and waits on
// `WaitForDecision`; a reviewer sees the request, opens it and approves it with a reason, and the
// agent's stream receives APPROVED. Self-approval and a reviewer outside the eligible group are
// refused with the service's message on the page. Another reviewer's approval shows live on a page
// that is open (no reload), with the params diff, the audit history and the history search.
// axe-core finds no WCAG 2 A/AA violation on the list, detail, refusal, live-updated and history
// pages; the list and detail pages are saved as docs/console-*.png.
//
//   node --test tests/e2e/        (after npm ci in tests/e2e and tests/oidc, and a debug build)
//
// Environment: TOLLGATE_BIN (default: debug/tollgate under $CARGO_TARGET_DIR or target/),
// CHROMIUM (default /usr/bin/chromium), TOLLGATE_E2E_SCREENSHOTS (the directory the screenshots
// go to; default docs/, scripts/test.sh puts them with its results).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import {
  REPO, RITA_TOKEN, grpcCall, startProvider, startTollgate, stopAll, waitForDecision,
} from './harness.mjs';

const POLICY = `package tollgate

default allow := false

approval contains {"groups": ["reviewers"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "high", "reason": "dropping a database needs a reviewer"} if input.action.name == "db.drop"
`;

// Bounded waits for conditions (never sleeps): the browser's and the agent's.
const STEP = 30_000;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = path.resolve(REPO, process.env.TOLLGATE_E2E_SCREENSHOTS || 'docs');

let op;
let tollgate;
let browser;

before(async () => {
  op = await startProvider();
  tollgate = await startTollgate(op.issuer, POLICY);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
});

after(async () => {
  await browser?.close();
  await stopAll();
  tollgate?.cleanup();
});

// A drop of `database` on behalf of `human`, asked with `token` (default: the agent's):
// PENDING_APPROVAL, its approval id.
function pendingDrop(database, human, requestId, token = undefined) {
  const answer = grpcCall(tollgate.grpc, 'tollgate.v1.Authorizer/Authorize', {
    subject: human ? { onBehalfOf: human } : {},
    action: { name: 'db.drop', params: { database, rows: 1200 } },
    resource: { type: 'database', id: `${database}-eu` },
    context: { intent: `decommission ${database} after migration TICKET-9`, environment: 'prod', requestId },
  }, token);
  assert.equal(answer.effect, 'EFFECT_PENDING_APPROVAL', JSON.stringify(answer));
  assert.ok(answer.approvalId, JSON.stringify(answer));
  return answer.approvalId;
}

// A fresh browser profile (its own cookies) with a fixed viewport, locale and time zone.
async function newReviewer() {
  const context = await browser.newContext({
    baseURL: tollgate.console,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(STEP);
  const page = await context.newPage();
  // Script errors, console errors (a CSP violation is one) and a console asset or icon that
  // fails to load: none is expected. (A refusal page itself answers 403; documents are not
  // counted, and neither is the test provider's missing favicon.)
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      page.errors.push(`${page.url()}: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== 'document' && !r.url().startsWith(op.issuer)) {
      page.errors.push(`${r.url()}: ${r.status()}`);
    }
  });
  return page;
}

// Closes the reviewer's browser profile, after checking that no page logged an error.
async function done(page) {
  assert.deepEqual(page.errors, [], 'errors in the browser console');
  await page.context().close();
}

// Signs in as `email` on the provider's own page, starting at console page `next`; ends on
// `next` with the session.
async function signIn(page, email, next) {
  const anonymous = await page.goto(next);
  assert.equal(anonymous.status(), 200);
  // No session: the console sends the browser to the provider's sign-in page.
  await page.getByRole('heading', { name: 'Test identity provider' }).waitFor();
  assert.ok(page.url().startsWith(op.issuer), page.url());
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The console's callback page says who signed in, then continues to `next`.
  await page.waitForURL((url) => url.href === new URL(next, tollgate.console).href);
  await page.getByText(`Signed in as user:${email}`).waitFor();
}

// No WCAG 2 A/AA violation on the current page. axe-core is evaluated through the DevTools
// protocol, which the page's strict CSP (script-src 'self') does not govern: no CSP bypass.
async function assertAccessible(page, what) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
  }));
  const violations = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
  }));
  assert.deepEqual(violations, [], `${what}: axe-core violations\n${JSON.stringify(violations, null, 2)}`);
  assert.ok(result.passes.length > 0, `${what}: axe-core ran no checks`);
}

// The page at 1280 px wide; `fullPage` also shows what is below the fold.
async function screenshot(page, name, fullPage = false) {
  await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage, animations: 'disabled' });
}

test('a reviewer signs in with OIDC, approves in the browser, and the agent is told', async () => {
  const id = pendingDrop('orders', 'user:alice@example.com', 'e2e-1');
  // A second request, so the list shows more than one row.
  pendingDrop('invoices', 'user:alice@example.com', 'e2e-2');
  const waiter = waitForDecision(tollgate.grpc, id);
  await waiter.waitFor('the PENDING state', (out) => out.includes('"APPROVAL_STATE_PENDING"'), STEP);

  const page = await newReviewer();
  await signIn(page, 'sam@example.com', '/console/');

  // The list: the request, linked to its detail page.
  await page.getByRole('heading', { name: 'Pending requests', level: 1 }).waitFor();
  const table = page.getByRole('table', { name: 'Pending approval requests' });
  const link = table.locator(`a[href="/console/approvals/${id}"]`);
  await link.waitFor();
  assert.equal(await link.textContent(), 'db.drop');
  assert.equal(await table.locator('tbody tr').count(), 2);
  await assertAccessible(page, 'list page');
  await screenshot(page, 'console-list.png');

  // The detail page: the context and the requirement.
  await link.click();
  await page.waitForURL(`**/console/approvals/${id}`);
  await page.getByText('decommission orders after migration TICKET-9').waitFor();
  await page.locator('.requirements').getByText('dropping a database needs a reviewer').waitFor();
  await page.getByText('Satisfied by: nobody yet').waitFor();
  await assertAccessible(page, 'detail page');
  await screenshot(page, 'console-detail.png', true);

  // Approve with a reason.
  await page.getByLabel('Reason (required)').fill('migration verified in TICKET-9');
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.waitForURL(`**/console/approvals/${id}?reviewed=1`);
  const status = page.getByRole('status');
  assert.equal(await status.textContent(), 'Your review was recorded.');
  assert.equal(await page.locator('h1 .state').textContent(), 'approved');
  await page.getByText('Satisfied by: user:sam@example.com').waitFor();
  await page.locator('.reviews').getByText('migration verified in TICKET-9').waitFor();
  // The request's audit history: the review, with who and why.
  await page.locator('.history')
    .getByText('Reviewed (approve) by user:sam@example.com: migration verified in TICKET-9').waitFor();
  // The review form is gone once the request is decided.
  assert.equal(await page.getByRole('button', { name: 'Approve', exact: true }).count(), 0);

  // The agent's stream, open since before the review, receives the approval.
  const streamed = await waiter.waitFor('the APPROVED state',
    (out) => out.includes('"APPROVAL_STATE_APPROVED"') && out, STEP);
  assert.match(streamed, /"reviewerId": "user:sam@example.com"/);
  await waiter.exited;
  await done(page);
});

test('self-approval and a reviewer outside the group are refused with a clear message', async () => {
  // Rita, a reviewer, asks herself: she sees her request but may not approve it.
  const id = pendingDrop('ledger', '', 'e2e-3', RITA_TOKEN);
  const detail = `/console/approvals/${id}`;

  const refusedAs = async (email, message, { keyboard }) => {
    const page = await newReviewer();
    await signIn(page, email, detail);
    if (keyboard) {
      // Keyboard only: type the reason, Tab past the parameters to Approve, press Enter.
      await page.getByLabel('Reason (required)').focus();
      await page.keyboard.type('looks fine to me');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => document.activeElement?.textContent);
      assert.equal(focused, 'Approve');
      await page.keyboard.press('Enter');
    } else {
      await page.getByLabel('Reason (required)').fill('looks fine to me');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
    }
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal((await alert.innerText()).trim(), `Your review was refused: ${message}`);
    assert.equal(await page.locator('h1 .state').textContent(), 'pending');
    await assertAccessible(page, `refusal page (${email})`);
    await done(page);
  };

  await refusedAs('rita@example.com', 'the requester cannot review its own request', { keyboard: false });
  // Omar (finance, an auditor) may read it but is not in the reviewers group.
  await refusedAs('omar@example.com', 'reviewer is in none of the groups that may approve (reviewers)', { keyboard: true });

  const still = grpcCall(tollgate.grpc, 'tollgate.v1.Approvals/GetApproval', { approvalId: id }, RITA_TOKEN);
  assert.equal(still.state, 'APPROVAL_STATE_PENDING', JSON.stringify(still));
  assert.equal(still.reviews, undefined, JSON.stringify(still));
});

test('another reviewer\'s approval shows live on an open page, without a reload', async () => {
  const id = pendingDrop('payments', 'user:alice@example.com', 'e2e-4');
  const detail = `/console/approvals/${id}`;

  // Omar (an auditor) has the request open; the page must not reload (the marker survives).
  const watcher = await newReviewer();
  await signIn(watcher, 'omar@example.com', detail);
  await watcher.evaluate(() => { globalThis.notReloaded = true; });
  // Its live-update stream is open (subscribed) before anything changes.
  await watcher.locator('#live[data-connected="true"]').waitFor({ state: 'attached' });

  // The params editor shows what a modification would change, before it is submitted.
  await watcher.locator('#params').fill('{"database": "payments", "rows": 100}');
  await watcher.locator('#params-diff').getByText('rows: 1200 \u2192 100').waitFor();

  // Sam approves in his own browser.
  const sam = await newReviewer();
  await signIn(sam, 'sam@example.com', detail);
  await sam.getByLabel('Reason (required)').fill('payments moved to the new cluster');
  await sam.getByRole('button', { name: 'Approve', exact: true }).click();
  await sam.waitForURL(`**${detail}?reviewed=1`);
  await done(sam);

  // Omar's page says so, politely, and its review buttons are disabled.
  const live = watcher.locator('#live');
  await live.getByText('Approved by user:sam@example.com.').waitFor();
  assert.equal(await live.getAttribute('aria-live'), 'polite');
  assert.equal(await watcher.evaluate(() => globalThis.notReloaded), true, 'the page was not reloaded');
  assert.equal(await watcher.getByRole('button', { name: 'Approve', exact: true }).isDisabled(), true);
  assert.equal(await watcher.getByRole('button', { name: 'Deny', exact: true }).isDisabled(), true);
  await assertAccessible(watcher, 'detail page with a live update');

  // The reload shows the outcome and the request's audit history.
  await live.getByRole('link', { name: 'Reload' }).click();
  await watcher.getByRole('heading', { name: 'History', level: 2 }).waitFor();
  await watcher.locator('.history').getByText('by user:sam@example.com: payments moved to the new cluster').waitFor();
  assert.equal(await watcher.locator('h1 .state').textContent(), 'approved');

  // The searchable history finds it, and passes axe-core.
  await watcher.getByRole('link', { name: 'History', exact: true }).click();
  await watcher.getByRole('heading', { name: 'History', level: 1 }).waitFor();
  await watcher.getByLabel('Search action, resource, intent').fill('payments');
  await watcher.getByLabel('State').selectOption('approved');
  await watcher.getByRole('button', { name: 'Search' }).click();
  await watcher.waitForURL(/\/console\/history\?.*q=payments/);
  const rows = watcher.getByRole('table', { name: 'Requests matching the search, oldest first' }).locator('tbody tr');
  assert.equal(await rows.count(), 1);
  await rows.locator(`a[href="${detail}"]`).waitFor();
  await assertAccessible(watcher, 'history page');
  await done(watcher);
});

test('a new request appears on an open list, without a reload', async () => {
  const rita = await newReviewer();
  await signIn(rita, 'rita@example.com', '/console/');
  await rita.evaluate(() => { globalThis.notReloaded = true; });
  await rita.locator('#live[data-connected="true"]').waitFor({ state: 'attached' });
  const id = pendingDrop('archive', 'user:alice@example.com', 'e2e-5');
  const table = rita.getByRole('table', { name: 'Pending approval requests' });
  await table.locator(`a[href="/console/approvals/${id}"]`).waitFor();
  await rita.locator('#live').getByText('The list was updated.').waitFor();
  assert.equal(await rita.evaluate(() => globalThis.notReloaded), true, 'the page was not reloaded');
  await assertAccessible(rita, 'list page with a live update');
  await done(rita);
});
