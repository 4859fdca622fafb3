// One chat message as a DOM element, shared by the patient chat and the clinician's read-only view.
import { el } from './dom.js';
import { shortTime, riskBadge } from './format.js';
import { explanationControl } from './explain.js';

const AUTHORS = {
  patient: { patient: 'You', staff: 'Patient' },
  ai: { patient: 'Healing Space companion (AI)', staff: 'AI companion' },
  clinician: { patient: 'Your care team', staff: 'Clinician' },
  system: { patient: 'Healing Space', staff: 'System' },
};

/**
 * @param {{id?: string, author: string, text: string, created_at?: string, seq?: number,
 *          finish?: string, risk?: object}} m
 * @param {'patient'|'staff'} viewer
 */
export function messageEl(m, viewer) {
  const node = el('div', { className: `msg msg-${m.author}` });
  if (m.id) node.dataset.messageId = m.id;
  if (m.seq) node.dataset.seq = String(m.seq);
  node.append(el('span', { className: 'msg-author', text: (AUTHORS[m.author] || AUTHORS.system)[viewer] }));
  node.append(el('p', { className: 'msg-text', text: m.text }));
  const meta = el('span', { className: 'msg-meta' });
  if (m.created_at) meta.append(el('time', { attrs: { datetime: m.created_at }, text: shortTime(m.created_at) }));
  node.append(meta);
  if (viewer === 'staff' && m.author === 'patient' && m.risk && m.risk.level) {
    meta.append(' ', riskBadge(m.risk.level));
  }
  if (m.author === 'ai') finishAiMessage(node, m, viewer);
  return node;
}

/** Adds the ending of an AI message: the notice for error/cancel and the explanation control. */
export function finishAiMessage(node, { id, finish, notice }, viewer) {
  node.removeAttribute('aria-busy');
  if (notice && finish !== 'safety') node.append(el('p', { className: 'msg-notice', text: notice }));
  if (finish === 'cancelled') node.append(el('p', { className: 'msg-meta', text: viewer === 'patient' ? 'You stopped this reply.' : 'Stopped by the patient.' }));
  if (id) node.append(...explanationControl(id, { staff: viewer === 'staff' }));
}
