// Shared harness of the browser tests: the running server (started by scripts/browser-test.sh), the
// system Chromium through playwright-core, axe-core checks, screenshots and small waits.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { chromium } = require('playwright-core');

const BASE_URL = process.env.HS_BASE_URL;
const BIN = process.env.HS_BIN;
const DATA_DIR = process.env.HS_DATA_DIR;
const PASSWORD = process.env.HS_PASSWORD || 'a-strong-password-1';
if (!BASE_URL || !BIN || !DATA_DIR) {
  throw new Error('run these tests with scripts/browser-test.sh (it sets HS_BASE_URL, HS_BIN and HS_DATA_DIR)');
}

const ARTIFACTS = path.join(__dirname, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync',
];

async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** A new context + page on the app, failing the test on any CSP violation or page error. */
async function openApp(browser, options = {}) {
  const context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) page.problems.push(m.text());
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  await page.goto('/');
  return { context, page };
}

function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'the page reported CSP violations or script errors');
}

/** A unique name for this run. */
function unique(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Runs the healing-space CLI against the server's data directory. */
function cli(...args) {
  // Only `user add` reads a password from stdin; other commands get no stdin (no EPIPE).
  const stdin = args[0] === 'user' ? { input: `${PASSWORD}\n` } : { stdio: ['ignore', 'pipe', 'pipe'] };
  return execFileSync(BIN, [...args, '--data-dir', DATA_DIR], { encoding: 'utf8', env: { ...process.env, RUST_LOG: 'warn' }, ...stdin });
}

async function signIn(page, username, password = PASSWORD) {
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function registerPatient(page, username, displayName) {
  await page.getByLabel('Choose a username').fill(username);
  await page.getByLabel('What should we call you? (optional)').fill(displayName);
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
}

/** Waits until the socket says "Connected". */
async function connected(page) {
  await page.locator('#connection-text', { hasText: /^Connected$/ }).waitFor({ timeout: 10000 });
}

/** Runs axe on the page in the current colour scheme; fails on serious or critical WCAG violations. */
async function axeCheck(page, label) {
  // page.evaluate is not subject to the page's CSP, so axe runs without weakening it.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), AXE_TAGS);
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} — ${n.failureSummary}`).join('\n    ')}`);
  assert.equal(bad.length, 0, `axe found serious/critical violations on ${label}:\n  ${report.join('\n  ')}`);
}

/** axe in light and in dark mode; leaves the page in light mode. */
async function axeBothThemes(page, label) {
  await page.emulateMedia({ colorScheme: 'light' });
  await axeCheck(page, `${label} (light)`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await axeCheck(page, `${label} (dark)`);
  await screenshot(page, `${label}-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`), fullPage: true });
}

/** Relative luminance (0 black … 1 white) of the computed background colour of `selector`. */
async function backgroundLuminance(page, selector = 'body') {
  const rgb = await page.$eval(selector, (e) => getComputedStyle(e).backgroundColor);
  const [r, g, b] = rgb.match(/[\d.]+/g).slice(0, 3).map(Number).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** REST call from the test (Node's fetch) with a bearer token. */
async function rest(method, urlPath, token, body) {
  const res = await fetch(`${BASE_URL}/api/v1${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The signed-in user's token, read from the page's sessionStorage. */
async function tokenOf(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('hs.session')).token);
}

module.exports = {
  BASE_URL, PASSWORD, launch, openApp, assertNoProblems, unique, cli, signIn, registerPatient, connected,
  axeCheck, axeBothThemes, screenshot, backgroundLuminance, rest, tokenOf,
};
