// The clinician console: live alerts with Acknowledge, the caseload, and a patient's conversation
// (read only, refreshed every 2 seconds while open).
import { $, el, clear, announce, restoreFocus } from './dom.js';
import { get, post } from './api.js';
import { riskBadge, riskLabel, timeEl, shortTime } from './format.js';
import { messageEl } from './messages.js';

const POLL_MS = 2000;
const STATUS = {
  open: 'Waiting for acknowledgement',
  escalated: 'Escalated to a supervisor – still needs acknowledging',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
};

let socket = null;
let me = null;
let listeners = null;
let alerts = new Map();
let caseloadTimer = null;
let detail = null; // { patientId, name, conversationId, poll, signature, generation }

// ---------- alerts ----------

function alertCard(a) {
  const headingId = `alert-${a.id}-name`;
  const noteId = `alert-${a.id}-note`;
  const card = el('li', { className: `item item-${a.level}`, attrs: { 'data-alert-id': a.id } });
  const acked = a.status === 'acknowledged' || a.status === 'resolved';
  let status = STATUS[a.status] || a.status;
  if (a.status === 'acknowledged') {
    status = `Acknowledged${a.acknowledged_by === me.id ? ' by you' : ''}${a.acknowledged_at ? ` at ${shortTime(a.acknowledged_at)}` : ''}`;
  }
  card.append(
    el('div', { className: 'item-head' },
      el('h3', { attrs: { id: headingId }, text: a.patient_name || 'Patient' }),
      riskBadge(a.level),
      el('span', { className: 'item-status', text: status })),
    el('p', { className: 'msg-meta' }, 'Raised ', timeEl(a.created_at)),
    el('p', { className: 'visually-hidden', text: 'What they wrote:' }),
    el('blockquote', { className: 'excerpt', text: a.excerpt || '' }),
  );
  if (a.reasons?.length) card.append(el('ul', { className: 'reasons' }, a.reasons.map((r) => el('li', { text: r }))));
  if (a.note) card.append(el('p', {}, el('strong', { text: 'Note: ' }), a.note));
  const actions = el('div', { className: 'item-actions' });
  if (!acked) {
    const note = el('textarea', { attrs: { id: noteId, rows: '2' } });
    const error = el('p', { className: 'form-error', attrs: { role: 'alert' } });
    const button = el('button', { className: 'button-primary', text: 'Acknowledge', attrs: { type: 'button', id: `alert-${a.id}-ack`, 'aria-describedby': headingId } });
    button.addEventListener('click', () => {
      error.textContent = '';
      const frame = { type: 'alert.ack', alert_id: a.id, ref: `ack-${a.id}` };
      if (note.value.trim()) frame.note = note.value.trim();
      if (!socket.send(frame)) error.textContent = "You're offline. Please try again when the connection is back.";
      else button.disabled = true;
    });
    actions.append(el('div', { className: 'field' }, el('label', { attrs: { for: noteId }, text: 'Note (optional)' }), note), button, error);
  }
  actions.append(el('button', {
    className: 'button-secondary', text: 'View conversation',
    attrs: { type: 'button', id: `alert-${a.id}-view`, 'aria-describedby': headingId },
    on: { click: () => openPatient(a.patient_id, a.patient_name, a.conversation_id) },
  }));
  card.append(actions);
  return card;
}

function renderAlerts() {
  const list = $('alert-list');
  // Keep the person's place: remember which control had focus and any note being typed.
  const focusedId = document.activeElement?.id;
  const notes = new Map([...list.querySelectorAll('textarea')].map((t) => [t.id, t.value]));
  clear(list);
  const sorted = [...alerts.values()].sort((x, y) => (x.created_at < y.created_at ? 1 : -1));
  for (const a of sorted) list.append(alertCard(a));
  for (const [id, value] of notes) { const t = document.getElementById(id); if (t) t.value = value; }
  restoreFocus(focusedId, 'alerts-heading');
  $('alerts-empty').hidden = sorted.some((a) => a.status === 'open' || a.status === 'escalated');
}

function onAlert(a, isNew) {
  const known = alerts.has(a.id);
  alerts.set(a.id, a);
  renderAlerts();
  if (isNew && !known) announce(`New ${riskLabel(a.level).toLowerCase()} alert for ${a.patient_name}.`);
  if (!isNew && a.status === 'acknowledged') announce(`Alert for ${a.patient_name} acknowledged.`);
  scheduleCaseload();
  if (detail && detail.patientId === a.patient_id) refreshDetail();
}

// ---------- caseload ----------

function scheduleCaseload() {
  clearTimeout(caseloadTimer);
  caseloadTimer = setTimeout(loadCaseload, 300);
}

async function loadCaseload() {
  let patients = [];
  try {
    patients = (await get('/caseload')).patients || [];
  } catch {
    return;
  }
  const body = $('caseload-body');
  clear(body);
  $('caseload-empty').hidden = patients.length > 0;
  $('caseload-table').hidden = patients.length === 0;
  for (const p of patients) {
    const name = p.display_name || p.username;
    body.append(el('tr', {},
      el('th', { attrs: { scope: 'row' } }, name, el('span', { className: 'msg-meta', text: `@${p.username}` })),
      el('td', {}, riskBadge(p.latest_risk)),
      el('td', {}, p.last_contact ? timeEl(p.last_contact) : 'No contact yet'),
      el('td', { text: String(p.open_alerts) }),
      el('td', {}, el('button', {
        className: 'button-secondary', text: 'Open',
        attrs: { type: 'button', 'aria-label': `Open ${name}'s conversations` },
        on: { click: () => openPatient(p.id, name, null) },
      }))));
  }
}

// ---------- one patient's conversation ----------

async function openPatient(patientId, name, conversationId) {
  stopPolling();
  detail = { patientId, name, conversationId, signature: '', generation: (detail?.generation || 0) + 1, paused: false };
  $('patient-detail').hidden = false;
  $('patient-detail-heading').textContent = `${name || 'Patient'}: conversations`;
  $('patient-detail-heading').focus();
  clear($('patient-log'));
  await loadPatientConversations();
  detail.poll = setInterval(refreshDetail, POLL_MS);
}

async function loadPatientConversations() {
  const d = detail;
  let conversations = [];
  try {
    conversations = (await get(`/patients/${encodeURIComponent(d.patientId)}/conversations`)).conversations || [];
  } catch (err) {
    $('patient-log').append(el('p', { text: `Could not load conversations: ${err.message}` }));
    return;
  }
  if (d !== detail) return;
  if (!d.conversationId && conversations.length) d.conversationId = conversations[0].id;
  const list = $('patient-conversations');
  clear(list);
  conversations.forEach((c, i) => {
    list.append(el('li', {}, el('button', {
      text: `${i === 0 ? 'Latest' : 'Conversation'}: started ${shortTime(c.started_at)}${c.chat_paused ? ' (AI paused)' : ''}`,
      attrs: { type: 'button', 'aria-current': c.id === d.conversationId ? 'true' : false },
      on: { click: () => { d.conversationId = c.id; d.signature = ''; loadPatientConversations(); } },
    })));
  });
  const current = conversations.find((c) => c.id === d.conversationId);
  d.paused = Boolean(current?.chat_paused);
  $('patient-paused').hidden = !d.paused;
  await refreshDetail();
}

async function refreshDetail() {
  const d = detail;
  if (!d || !d.conversationId) return;
  let messages;
  try {
    messages = (await get(`/conversations/${encodeURIComponent(d.conversationId)}/messages?limit=100`)).messages || [];
  } catch {
    return;
  }
  if (d !== detail) return;
  const signature = messages.map((m) => `${m.id}:${m.risk?.level || ''}:${m.text.length}`).join('|');
  if (signature === d.signature) return;
  d.signature = signature;
  const log = $('patient-log');
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  clear(log);
  if (!messages.length) log.append(el('p', { className: 'chat-empty', text: 'No messages yet.' }));
  for (const m of messages) log.append(messageEl(m, 'staff'));
  if (atEnd || !d.rendered) log.scrollTop = log.scrollHeight;
  d.rendered = true;
}

function stopPolling() {
  if (detail?.poll) clearInterval(detail.poll);
}

async function resume() {
  if (!detail?.conversationId) return;
  try {
    await post(`/conversations/${encodeURIComponent(detail.conversationId)}/resume`);
    announce('The AI companion is back on for this patient.');
    await loadPatientConversations();
  } catch (err) {
    announce(`Could not resume the chat: ${err.message}`);
  }
}

// ---------- page ----------

export function onFrame(f) {
  if (f.type === 'alert') onAlert(f.alert, true);
  else if (f.type === 'alert.updated') onAlert(f.alert, false);
  else if (f.type === 'error' && typeof f.ref === 'string' && f.ref.startsWith('ack-')) {
    const id = f.ref.slice(4);
    const card = [...$('alert-list').children].find((c) => c.dataset.alertId === id);
    const error = card?.querySelector('.form-error');
    if (error) error.textContent = f.message || 'That did not work. Please try again.';
    card?.querySelector('.button-primary')?.removeAttribute('disabled');
  }
}

export function onWelcome() {
  scheduleCaseload();
}

export function start(session, sock) {
  socket = sock;
  me = session.user;
  alerts = new Map();
  listeners = new AbortController();
  $('resume-button').addEventListener('click', resume, { signal: listeners.signal });
  $('patient-detail').hidden = true;
  renderAlerts();
  loadCaseload();
}

export function stop() {
  listeners?.abort();
  stopPolling();
  clearTimeout(caseloadTimer);
  detail = null;
  alerts = new Map();
  clear($('alert-list'));
  clear($('caseload-body'));
  clear($('patient-log'));
  clear($('patient-conversations'));
}
