// The patient chat: keyboard-only sending with a streamed reply, "Why did I get this answer?",
// history, the offline outbox (sent once), and quick exit.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

let browser;
before(async () => { browser = await h.launch(); });
after(async () => { await browser?.close(); });

async function newPatient(name = 'Jo') {
  const { context, page } = await h.openApp(browser);
  const username = h.unique('pat');
  await h.registerPatient(page, username, name);
  await h.connected(page);
  return { context, page, username };
}

const log = (page) => page.getByRole('log', { name: 'Conversation' });

/** Waits until the number of finished AI replies in the log reaches `n`. */
async function aiReplies(page, n) {
  await page.waitForFunction((count) => document.querySelectorAll('#chat-log .msg-ai:not([aria-busy]) .button-link').length >= count, n, { timeout: 15000 });
}

test('keyboard only: type in Message, Enter sends, the reply streams into the log', async () => {
  const { context, page } = await newPatient();
  const box = page.getByRole('textbox', { name: 'Message' });
  // After sign-up, focus is already in the message box.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'message-input');
  await page.keyboard.type('I had a rough day at work and I feel tired');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('and a bit lonely');
  assert.equal(await box.inputValue(), 'I had a rough day at work and I feel tired\nand a bit lonely', 'Shift+Enter adds a new line');
  await page.keyboard.press('Enter');
  await log(page).locator('.msg-patient', { hasText: 'a bit lonely' }).waitFor();
  assert.equal(await box.inputValue(), '', 'the box is cleared after sending');
  // The streamed reply appears in the role=log region.
  await page.waitForFunction(() => (document.querySelector('#chat-log .msg-ai .msg-text')?.textContent || '').trim().length > 0);
  await aiReplies(page, 1);
  await log(page).locator('.msg-patient .msg-meta', { hasText: 'Sent' }).waitFor();
  assert.equal(await page.getByRole('log').getAttribute('aria-live'), 'polite');
  // Tab from the message box reaches Send, and Send works from the keyboard too.
  await box.focus();
  await page.keyboard.type('Thank you for listening');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Send');
  await page.keyboard.press('Enter');
  await aiReplies(page, 2);
  await h.axeBothThemes(page, 'patient-chat');
  await h.screenshot(page, 'patient-chat');
  h.assertNoProblems(page);
  await context.close();
});

test('"Why did I get this answer?" explains what produced an AI reply', async () => {
  const { context, page } = await newPatient();
  await page.getByRole('textbox', { name: 'Message' }).fill('Can you help me think about sleeping better?');
  await page.getByRole('button', { name: 'Send' }).click();
  await aiReplies(page, 1);
  const why = log(page).getByRole('button', { name: 'Why did I get this answer?' });
  await why.click();
  assert.equal(await why.getAttribute('aria-expanded'), 'true');
  const panel = log(page).locator('.explanation');
  await panel.getByText('Who wrote it').waitFor();
  const text = await panel.innerText();
  assert.match(text, /AI companion/);
  assert.match(text, /Safety check on your message/);
  assert.match(text, /Safety check on the reply/);
  await h.axeCheck(page, 'explanation open');
  await h.screenshot(page, 'patient-explanation');
  // The endpoint refuses other people.
  const other = await newPatient('Sam');
  const messageId = await panel.evaluate((p) => p.closest('.msg').dataset.messageId);
  const res = await h.rest('GET', `/messages/${messageId}/explanation`, await h.tokenOf(other.page));
  assert.equal(res.status, 404);
  await other.context.close();
  await context.close();
});

test('earlier conversations and history are listed, older messages load on request', async () => {
  const { context, page } = await newPatient();
  const box = page.getByRole('textbox', { name: 'Message' });
  for (let i = 1; i <= 16; i += 1) {
    await box.fill(`Note number ${i} about my week`);
    await box.press('Enter');
    await aiReplies(page, i);
  }
  await page.reload();
  await h.connected(page);
  // 32 messages, 30 per page: the newest show, with a way to load the rest.
  await log(page).locator('.msg', { hasText: 'Note number 16 about my week' }).waitFor();
  assert.equal(await log(page).locator('.msg', { hasText: 'Note number 1 about my week' }).count(), 0);
  await page.getByRole('button', { name: 'Show earlier messages' }).click();
  await log(page).locator('.msg', { hasText: 'Note number 1 about my week' }).waitFor();
  assert.equal(await log(page).locator('.msg').count(), 32);
  // A second conversation; both are listed and the first can be reopened.
  await page.getByRole('button', { name: 'Start a new conversation' }).click();
  await box.fill('A fresh start today');
  await box.press('Enter');
  await aiReplies(page, 1);
  const list = page.getByRole('navigation', { name: 'Your conversations' }).getByRole('button', { name: /started/ });
  await page.waitForFunction(() => document.querySelectorAll('#conversation-list button').length === 2);
  await list.nth(1).click();
  await log(page).locator('.msg', { hasText: 'Note number 16 about my week' }).waitFor();
  await context.close();
});

test('offline: a message waits in the outbox and is sent exactly once when back online', async () => {
  const { context, page } = await newPatient();
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Hello before going offline');
  await box.press('Enter');
  await aiReplies(page, 1);

  await context.setOffline(true);
  await page.locator('#connection-text', { hasText: "You're offline" }).waitFor();
  await box.fill('Written while offline, please keep this');
  await box.press('Enter');
  const pending = log(page).locator('.msg-patient', { hasText: 'Written while offline' });
  await pending.locator('.msg-meta', { hasText: 'Waiting to send' }).waitFor();
  const outbox = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('hs.outbox.')).map(([, v]) => JSON.parse(v)).flat());
  assert.equal(outbox.length, 1, 'the message is kept in localStorage while offline');
  await h.screenshot(page, 'patient-offline');

  await context.setOffline(false);
  await h.connected(page);
  await pending.locator('.msg-meta', { hasText: 'Sent' }).waitFor({ timeout: 15000 });
  await aiReplies(page, 2);

  // Simulate an ack lost in transit: put the same message (same client_msg_id) back in the outbox and
  // reconnect. The server acknowledges it again without storing it twice or replying twice.
  const token = await h.tokenOf(page);
  const conversations = (await h.rest('GET', '/conversations', token)).body.conversations;
  const stored = (await h.rest('GET', `/conversations/${conversations[0].id}/messages?limit=200`, token)).body.messages;
  const mine = stored.filter((m) => m.text === 'Written while offline, please keep this');
  assert.equal(mine.length, 1, 'stored exactly once');
  const item = { ...outbox[0], conversation_id: conversations[0].id, draft: null };
  await page.evaluate((i) => {
    const key = Object.keys(localStorage).find((k) => k.startsWith('hs.outbox.'));
    localStorage.setItem(key, JSON.stringify([i]));
  }, item);
  await context.setOffline(true);
  await page.locator('#connection-text', { hasText: "You're offline" }).waitFor();
  await context.setOffline(false);
  await h.connected(page);
  await page.waitForFunction(() => Object.entries(localStorage).filter(([k]) => k.startsWith('hs.outbox.')).every(([, v]) => JSON.parse(v).length === 0), null, { timeout: 10000 });
  const after = (await h.rest('GET', `/conversations/${conversations[0].id}/messages?limit=200`, token)).body.messages;
  assert.equal(after.filter((m) => m.text === 'Written while offline, please keep this').length, 1, 'still stored exactly once');
  assert.equal(after.filter((m) => m.author === 'ai').length, 2, 'no second reply to the re-sent message');
  h.assertNoProblems(page);
  await context.close();
});

test('quick exit (Esc three times) leaves for a neutral site, clears app state, and Back does not return', async () => {
  const { context, page } = await newPatient();
  await context.route('https://www.bbc.co.uk/**', (route) => route.fulfill({ contentType: 'text/html', body: '<title>Weather</title><h1>Weather</h1>' }));
  await page.getByRole('textbox', { name: 'Message' }).fill('something private');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.waitForURL(/bbc\.co\.uk\/weather/);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await page.goBack().catch(() => null);
  assert.ok(!page.url().startsWith(h.BASE_URL), `Back returned to the app: ${page.url()}`);
  await context.close();
});

test('quick exit button on the sign-in page', async () => {
  const { context, page } = await h.openApp(browser);
  await context.route('https://www.bbc.co.uk/**', (route) => route.fulfill({ contentType: 'text/html', body: '<title>Weather</title><h1>Weather</h1>' }));
  await page.getByRole('button', { name: 'Quick exit' }).click();
  await page.waitForURL(/bbc\.co\.uk\/weather/);
  await page.goBack().catch(() => null);
  assert.ok(!page.url().startsWith(h.BASE_URL), `Back returned to the app: ${page.url()}`);
  await context.close();
});
