// Sign-in, each role's landing page, sign-out, theme (dark mode, remembered toggle) and axe on each page.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

let browser;
before(async () => { browser = await h.launch(); });
after(async () => { await browser?.close(); });

test('the sign-in page is accessible in light and dark mode and has the help and quick exit controls', async () => {
  const { context, page } = await h.openApp(browser);
  await page.getByRole('heading', { name: 'Welcome to Healing Space' }).waitFor();
  await page.getByRole('button', { name: 'Get help now' }).waitFor();
  await page.getByRole('button', { name: 'Quick exit' }).waitFor();
  await h.axeBothThemes(page, 'signin');
  await h.screenshot(page, 'signin-light');
  // "Get help now" lists the crisis lines.
  await page.getByRole('button', { name: 'Get help now' }).click();
  const help = page.getByRole('region', { name: 'Help is available right now' });
  await help.waitFor();
  // The list comes from the deployment's crisis catalogue (GET /api/v1/crisis): wait for it.
  await help.getByRole('link', { name: /116 123/ }).waitFor({ timeout: 5000 });
  const text = await help.innerText();
  for (const s of ['116 123', '111', 'option 2', '999', 'A&E', 'SHOUT', '85258']) assert.ok(text.includes(s), `help lists ${s}`);
  await h.axeCheck(page, 'signin with help open');
  // A wrong password gets a plain, kind message.
  await h.signIn(page, 'nobody-here', 'wrong-password');
  await page.getByText("That username and password don't match").waitFor();
  h.assertNoProblems(page);
  await context.close();
});

test('dark mode follows the system and the manual toggle is remembered', async () => {
  const { context, page } = await h.openApp(browser, { colorScheme: 'dark' });
  await page.getByRole('heading', { name: 'Welcome to Healing Space' }).waitFor();
  assert.ok(await h.backgroundLuminance(page) < 0.05, 'the page is dark under prefers-color-scheme: dark');
  assert.equal(await page.getByRole('button', { name: 'Dark mode' }).getAttribute('aria-pressed'), 'true');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.ok(await h.backgroundLuminance(page) > 0.8, 'the page is light under prefers-color-scheme: light');
  // Choose dark by hand (keyboard), reload: still dark although the system says light.
  await page.getByRole('button', { name: 'Dark mode' }).focus();
  await page.keyboard.press('Enter');
  assert.ok(await h.backgroundLuminance(page) < 0.05, 'the toggle makes the page dark');
  await page.reload();
  await page.getByRole('heading', { name: 'Welcome to Healing Space' }).waitFor();
  assert.ok(await h.backgroundLuminance(page) < 0.05, 'the choice is remembered');
  assert.equal(await page.getByRole('button', { name: 'Dark mode' }).getAttribute('aria-pressed'), 'true');
  await h.axeCheck(page, 'signin with manual dark theme');
  await h.screenshot(page, 'signin-manual-dark');
  await context.close();
});

const ROLES = [
  { role: 'clinician', user: () => process.env.HS_CLINICIAN, heading: 'Clinician console', region: 'Alerts' },
  { role: 'supervisor', user: () => process.env.HS_SUPERVISOR, heading: 'Supervisor queue', region: 'Escalations' },
  { role: 'admin', user: () => process.env.HS_ADMIN, heading: 'Administration' },
];

for (const r of ROLES) {
  test(`${r.role === "admin" ? "an" : "a"} ${r.role} signs in, lands on their own page, and signs out`, async () => {
    const { context, page } = await h.openApp(browser);
    await h.signIn(page, r.user());
    await page.getByRole('heading', { level: 1, name: r.heading }).waitFor();
    if (r.region) await page.getByRole('region', { name: r.region }).waitFor();
    if (r.role !== 'admin') await h.connected(page);
    assert.equal(await page.getByRole('button', { name: 'Quick exit' }).isVisible(), false, 'quick exit is for patients');
    await page.getByRole('button', { name: 'Get help now' }).waitFor();
    await h.axeBothThemes(page, `${r.role}-page`);
    await h.screenshot(page, `${r.role}-page`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Welcome to Healing Space' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hs.session')), null, 'the token is gone');
    h.assertNoProblems(page);
    await context.close();
  });
}

test('sign-up says why a password or a lookalike username is refused, then the account is made', async () => {
  const { context, page } = await h.openApp(browser);
  const taken = h.unique('po');
  h.cli('user', 'add', '--username', taken, '--role', 'patient');
  const error = page.locator('#register-error');
  const attempt = async (username, password) => {
    await page.getByLabel('Choose a username').fill(username);
    await page.getByLabel('Choose a password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
  };
  await attempt(h.unique('pat'), 'short');
  await error.getByText('at least 10 characters').waitFor();
  await attempt(h.unique('pat'), 'password123');
  await error.getByText('list of common or breached passwords').waitFor();
  // Cyrillic о in place of the Latin o of an existing name.
  await attempt(`p\u043e${taken.slice(2)}`, h.PASSWORD);
  await error.getByText('looks too much like an existing one').waitFor();
  await attempt(h.unique('pat'), h.PASSWORD);
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  h.assertNoProblems(page);
  await context.close();
});

test('a patient creates an account, lands on the chat, and signs in again later', async () => {
  const { context, page } = await h.openApp(browser);
  const username = h.unique('pat');
  await h.registerPatient(page, username, 'Alex');
  await page.getByRole('log').waitFor();
  await page.getByRole('button', { name: 'Quick exit' }).waitFor();
  await h.connected(page);
  await h.axeBothThemes(page, 'patient-chat-empty');
  // Text resized to 200%: everything still fits the width (no sideways scrolling) and stays usable.
  await page.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1), 'no horizontal scrolling at 200% text');
  await page.getByRole('button', { name: 'Send' }).waitFor();
  await h.screenshot(page, 'patient-chat-200-percent');
  await page.evaluate(() => { document.documentElement.style.fontSize = ''; });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await h.signIn(page, username);
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  h.assertNoProblems(page);
  await context.close();
});
