// The safety path end to end across three browser contexts: a high-risk message gives the patient
// crisis resources at once, shows a live high alert on the clinician console (< 3 s, no reload), which
// is acknowledged; the escalation reaches the supervisor queue live, is claimed, then resolved.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

let browser;
before(async () => { browser = await h.launch(); });
after(async () => { await browser?.close(); });

const RISKY = "I've saved up all my tablets and tonight's the night";
let robin = null; // the patient of the first test, reused by the endpoint checks

test('high-risk message: crisis resources, live alert, acknowledge, escalation claimed and resolved', async () => {
  // The patient signs up and joins Dr Lee's caseload (CLI against the live store).
  const patient = await h.openApp(browser);
  const username = h.unique('robin');
  const name = `Robin ${username.slice(-4)}`;
  robin = { username, name };
  await h.registerPatient(patient.page, username, name);
  h.cli('assign', '--clinician', process.env.HS_CLINICIAN, '--patient', username);
  await h.connected(patient.page);
  await patient.page.getByRole('textbox', { name: 'Message' }).fill('Hi, I wanted to talk about my week');
  await patient.page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await patient.page.waitForFunction(() => document.querySelectorAll('#chat-log .msg-ai:not([aria-busy]) .button-link').length >= 1);

  // Clinician console and supervisor queue are open in their own contexts.
  const clinician = await h.openApp(browser);
  await h.signIn(clinician.page, process.env.HS_CLINICIAN);
  const alerts = clinician.page.getByRole('region', { name: 'Alerts' });
  await alerts.waitFor();
  await h.connected(clinician.page);
  const caseloadRow = clinician.page.getByRole('row', { name: new RegExp(name) });
  await caseloadRow.waitFor();
  assert.match(await caseloadRow.innerText(), /No risk/);

  const supervisor = await h.openApp(browser);
  await h.signIn(supervisor.page, process.env.HS_SUPERVISOR);
  const escalations = supervisor.page.getByRole('region', { name: 'Escalations' });
  await escalations.waitFor();
  await h.connected(supervisor.page);

  // The patient sends the high-risk message.
  const box = patient.page.getByRole('textbox', { name: 'Message' });
  await box.fill(RISKY);
  const sentAt = Date.now();
  await box.press('Enter');

  // The clinician sees a high alert with the patient's name, live, in under 3 s.
  const alert = alerts.getByRole('listitem').filter({ hasText: name });
  await alert.waitFor({ timeout: 3000 });
  const alertDelay = Date.now() - sentAt;
  assert.ok(alertDelay < 3000, `alert shown after ${alertDelay} ms`);
  const alertText = await alert.innerText();
  assert.match(alertText, /High risk/);
  assert.ok(alertText.includes("tonight's the night"), 'the excerpt is shown');
  console.log(`  alert visible on the clinician console ${alertDelay} ms after Enter`);

  // The patient sees the crisis resources prominently, and the pause explained kindly.
  const safety = patient.page.locator('#safety-panel');
  await safety.getByRole('link', { name: /116 123/ }).waitFor({ timeout: 5000 });
  const safetyText = await safety.innerText();
  for (const s of ['116 123', '111', '999', '85258']) assert.ok(safetyText.includes(s), `safety panel lists ${s}`);
  assert.equal(await safety.getAttribute('role'), 'alert');
  await patient.page.locator('#chat-log .msg-ai', { hasText: '999' }).waitFor();
  await h.axeBothThemes(patient.page, 'patient-safety');
  await h.screenshot(patient.page, 'patient-safety');

  // The escalation reaches the supervisor live (imminent at once, or after the 3 s ack deadline).
  const escalation = escalations.getByRole('listitem').filter({ hasText: name });
  await escalation.waitFor({ timeout: 10000 });
  assert.match(await escalation.innerText(), /High risk/);
  assert.match(await escalation.innerText(), /Waiting for \d+ second/);

  // The caseload now shows the patient at high risk; the clinician opens the conversation.
  await clinician.page.waitForFunction((n) => [...document.querySelectorAll('#caseload-body tr')].some((r) => r.textContent.includes(n) && r.textContent.includes('High risk')), name, { timeout: 5000 });
  await h.axeBothThemes(clinician.page, 'clinician-alert');
  await h.screenshot(clinician.page, 'clinician-alert');

  // Acknowledge with a note (keyboard: focus the note, type, Tab to the button, Enter).
  await alert.getByLabel('Note (optional)').focus();
  await clinician.page.keyboard.type('Called Robin, safety plan agreed');
  await clinician.page.keyboard.press('Tab');
  await clinician.page.keyboard.press('Enter');
  await alert.getByText(/Acknowledged by you/).waitFor({ timeout: 5000 });
  assert.match(await alert.innerText(), /Called Robin, safety plan agreed/);

  // The read-only conversation, refreshed live.
  await caseloadRow.getByRole('button', { name: /Open/ }).click();
  const readOnly = clinician.page.getByRole('log', { name: 'Patient conversation (read only)' });
  await readOnly.locator('.msg', { hasText: "tonight's the night" }).waitFor();
  await box.fill('thanks, I made a cup of tea');
  await box.press('Enter');
  await readOnly.locator('.msg', { hasText: 'thanks, I made a cup of tea' }).waitFor({ timeout: 6000 });
  await h.screenshot(clinician.page, 'clinician-patient-view');

  // Supervisor: filter, claim, resolve (with a note).
  await supervisor.page.getByLabel('Level').selectOption('low');
  await supervisor.page.getByText('Nothing is waiting for you right now.').waitFor();
  await supervisor.page.getByLabel('Level').selectOption('high');
  await escalation.waitFor();
  await h.axeBothThemes(supervisor.page, 'supervisor-escalation');
  await escalation.getByRole('button', { name: 'Claim' }).click();
  await escalation.getByText('Claimed by you').waitFor({ timeout: 5000 });
  await escalation.getByRole('button', { name: 'Resolve' }).click();
  await escalation.getByText('Please add a short note').waitFor();
  await escalation.getByLabel('Resolution note').fill('Spoke with Robin and the on-call team; plan in place');
  await escalation.getByRole('button', { name: 'Resolve' }).click();
  await escalation.waitFor({ state: 'detached', timeout: 5000 }); // gone from "Open or claimed"
  await supervisor.page.getByLabel('Status').selectOption('resolved');
  const resolved = escalations.getByRole('listitem').filter({ hasText: name });
  await resolved.getByText(/Resolved after/).waitFor();
  assert.match(await resolved.innerText(), /plan in place/);
  await h.screenshot(supervisor.page, 'supervisor-resolved');

  for (const x of [patient, clinician, supervisor]) h.assertNoProblems(x.page);
  await Promise.all([patient.context.close(), clinician.context.close(), supervisor.context.close()]);
});

test('new endpoints answer staff with a relationship and no one else', async () => {
  const login = async (u) => (await fetch(`${h.BASE_URL}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: u, password: h.PASSWORD }),
  })).json();
  const cl = await login(process.env.HS_CLINICIAN);
  const sup = await login(process.env.HS_SUPERVISOR);
  assert.ok(robin, 'runs after the safety flow');
  const caseload = await h.rest('GET', '/caseload', cl.token);
  assert.equal(caseload.status, 200);
  const p = caseload.body.patients.find((x) => x.username === robin.username);
  assert.ok(p, 'the patient is on the caseload');
  assert.equal(p.display_name, robin.name);
  // The high alert was acknowledged; "thanks, I made a cup of tea" carries no risk of its own, so it raises
  // nothing (contract §4.2), whatever came before it.
  assert.equal(p.open_alerts, 0);
  assert.equal(p.latest_risk, 'none');
  assert.ok(!Number.isNaN(Date.parse(p.last_contact)));
  assert.equal((await h.rest('GET', '/caseload', sup.token)).status, 403);
  const convs = await h.rest('GET', `/patients/${p.id}/conversations`, sup.token);
  assert.equal(convs.status, 200);
  assert.equal(convs.body.conversations.length, 1);
  assert.equal(convs.body.conversations[0].chat_paused, true);
  // Staff with the relationship can read the explanation of the crisis response.
  const messages = (await h.rest('GET', `/conversations/${convs.body.conversations[0].id}/messages`, cl.token)).body.messages;
  const crisis = messages.find((m) => m.author === 'ai' && m.meta?.kind === 'crisis_response');
  assert.ok(crisis, 'the crisis response is stored');
  const why = await h.rest('GET', `/messages/${crisis.id}/explanation`, cl.token);
  assert.equal(why.status, 200);
  assert.equal(why.body.produced_by.kind, 'crisis_response');
  assert.deepEqual(why.body.safety_checks.map((c) => c.check), ['input_screening', 'chat_paused', 'output_screening']);
  assert.equal(why.body.safety_checks[0].outcome, 'high');
  assert.equal(why.body.safety_checks[1].outcome, 'paused');
  const patientMsg = messages.find((m) => m.author === 'patient');
  assert.equal((await h.rest('GET', `/messages/${patientMsg.id}/explanation`, cl.token)).status, 404, 'not an AI message');
  // A patient cannot list another patient's conversations.
  const other = await fetch(`${h.BASE_URL}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: h.unique('x'), password: h.PASSWORD }),
  }).then((r) => r.json());
  const otherLogin = await login(other.user.username);
  assert.equal((await h.rest('GET', `/patients/${p.id}/conversations`, otherLogin.token)).status, 403);
  assert.equal((await h.rest('GET', '/caseload', otherLogin.token)).status, 403);
  assert.equal((await h.rest('GET', `/messages/${crisis.id}/explanation`, otherLogin.token)).status, 404);
});
