// The supervisor queue: escalations pushed live, filters by level and status, Claim and Resolve, and
// how long each has waited (updated every second).
import { $, el, clear, announce, restoreFocus } from './dom.js';
import { get } from './api.js';
import { riskBadge, riskLabel, timeEl, duration } from './format.js';

const REASONS = {
  ack_timeout: 'No clinician acknowledged the alert in time',
  no_clinician_online: 'No clinician was online when the alert was raised',
  imminent: 'The message suggests immediate danger',
};
const STATUS = { open: 'Open – nobody has claimed it yet', claimed: 'Claimed', resolved: 'Resolved' };

let socket = null;
let me = null;
let listeners = null;
let escalations = new Map();
let ticker = null;

function statusText(e) {
  if (e.status === 'claimed') return e.claimed_by === me.id ? 'Claimed by you' : 'Claimed by another supervisor';
  return STATUS[e.status] || e.status;
}

function waitedText(e) {
  if (e.status === 'resolved' && e.resolved_at) {
    return `Resolved after ${duration(new Date(e.resolved_at) - new Date(e.created_at))}`;
  }
  return `Waiting for ${duration(Date.now() - new Date(e.created_at))}`;
}

function card(e) {
  const a = e.alert || {};
  const headingId = `esc-${e.id}-name`;
  const noteId = `esc-${e.id}-note`;
  const node = el('li', { className: `item item-${a.level}`, attrs: { 'data-escalation-id': e.id } });
  node.append(
    el('div', { className: 'item-head' },
      el('h3', { attrs: { id: headingId }, text: a.patient_name || 'Patient' }),
      riskBadge(a.level),
      el('span', { className: 'item-status', text: statusText(e) })),
    el('p', {}, el('strong', { text: 'Why it is here: ' }), REASONS[e.reason] || e.reason),
    el('p', { className: 'waited', attrs: { 'data-created': e.created_at }, text: waitedText(e) }),
    el('p', { className: 'msg-meta' }, 'Escalated ', timeEl(e.created_at)),
    el('p', { className: 'visually-hidden', text: 'What the patient wrote:' }),
    el('blockquote', { className: 'excerpt', text: a.excerpt || '' }),
  );
  if (a.reasons?.length) node.append(el('ul', { className: 'reasons' }, a.reasons.map((r) => el('li', { text: r }))));
  if (e.note) node.append(el('p', {}, el('strong', { text: 'Resolution note: ' }), e.note));
  if (e.status !== 'resolved') {
    const actions = el('div', { className: 'item-actions' });
    const error = el('p', { className: 'form-error', attrs: { role: 'alert' } });
    if (e.status === 'open') {
      node.append(el('div', { className: 'item-actions claim-row' }, el('button', {
        className: 'button-primary', text: 'Claim', attrs: { type: 'button', id: `esc-${e.id}-claim`, 'aria-describedby': headingId },
        on: { click: () => act({ type: 'escalation.claim', escalation_id: e.id, ref: `esc-${e.id}` }, error) },
      })));
    }
    const note = el('textarea', { attrs: { id: noteId, rows: '2', 'aria-describedby': `${noteId}-hint` } });
    actions.append(
      el('div', { className: 'field' },
        el('label', { attrs: { for: noteId }, text: 'Resolution note' }),
        note,
        el('p', { className: 'hint', attrs: { id: `${noteId}-hint` }, text: 'Say what was done, for the record. Needed to resolve.' })),
      el('button', {
        className: 'button-secondary', text: 'Resolve', attrs: { type: 'button', id: `esc-${e.id}-resolve`, 'aria-describedby': headingId },
        on: {
          click: () => {
            if (!note.value.trim()) {
              error.textContent = 'Please add a short note saying what was done before resolving.';
              note.focus();
              return;
            }
            act({ type: 'escalation.resolve', escalation_id: e.id, note: note.value.trim(), ref: `esc-${e.id}` }, error);
          },
        },
      }),
      error);
    node.append(actions);
  }
  return node;
}

function act(frame, error) {
  error.textContent = '';
  if (!socket.send(frame)) error.textContent = "You're offline. Please try again when the connection is back.";
}

function visible(e) {
  const level = $('filter-level').value;
  const status = $('filter-status').value;
  if (level !== 'all' && e.alert?.level !== level) return false;
  if (status === 'active') return e.status !== 'resolved';
  return status === 'all' || e.status === status;
}

function render() {
  const list = $('escalation-list');
  const focusedId = document.activeElement?.id;
  const notes = new Map([...list.querySelectorAll('textarea')].map((t) => [t.id, t.value]));
  clear(list);
  const shown = [...escalations.values()].filter(visible).sort((x, y) => (x.created_at < y.created_at ? -1 : 1));
  for (const e of shown) list.append(card(e));
  for (const [id, value] of notes) { const t = document.getElementById(id); if (t) t.value = value; }
  restoreFocus(focusedId, 'escalations-heading');
  $('escalations-empty').hidden = shown.length > 0;
}

function tick() {
  for (const node of $('escalation-list').querySelectorAll('.waited')) {
    const e = escalations.get(node.closest('li').dataset.escalationId);
    if (e) node.textContent = waitedText(e);
  }
}

function upsert(e, isNew) {
  const known = escalations.has(e.id);
  escalations.set(e.id, e);
  render();
  if (isNew && !known) announce(`New escalation: ${riskLabel(e.alert?.level).toLowerCase()} for ${e.alert?.patient_name}.`);
  else if (!isNew) announce(`Escalation for ${e.alert?.patient_name}: ${statusText(e).toLowerCase()}.`);
}

async function loadAll() {
  try {
    const list = (await get('/escalations?status=all')).escalations || [];
    for (const e of list) if (!escalations.has(e.id)) escalations.set(e.id, e);
    render();
  } catch { /* live frames still arrive */ }
}

export function onFrame(f) {
  if (f.type === 'escalation') upsert(f.escalation, true);
  else if (f.type === 'escalation.updated') upsert(f.escalation, false);
  else if (f.type === 'error' && typeof f.ref === 'string' && f.ref.startsWith('esc-')) {
    const node = [...$('escalation-list').children].find((c) => c.dataset.escalationId === f.ref.slice(4));
    const error = node?.querySelector('.form-error');
    if (error) error.textContent = f.message || 'That did not work. Please try again.';
  }
}

export function start(session, sock) {
  socket = sock;
  me = session.user;
  escalations = new Map();
  listeners = new AbortController();
  for (const id of ['filter-level', 'filter-status']) $(id).addEventListener('change', render, { signal: listeners.signal });
  $('escalation-filters').addEventListener('submit', (e) => e.preventDefault(), { signal: listeners.signal });
  ticker = setInterval(tick, 1000);
  render();
  loadAll();
}

export function stop() {
  listeners?.abort();
  clearInterval(ticker);
  escalations = new Map();
  clear($('escalation-list'));
}
