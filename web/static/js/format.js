// Plain-language labels and times shared by the pages.
import { el } from './dom.js';

const RISK_LABELS = { none: 'No risk', low: 'Low risk', moderate: 'Moderate risk', high: 'High risk' };

/** A risk badge: colour and words, never colour alone. */
export function riskBadge(level) {
  const key = RISK_LABELS[level] ? level : 'none';
  return el('span', { className: `risk risk-${key}`, text: RISK_LABELS[key] });
}

export function riskLabel(level) {
  return RISK_LABELS[level] || 'Unknown risk';
}

/** "14:05" today, otherwise "3 Mar, 14:05". */
export function shortTime(iso) {
  if (!iso) return 'Never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) return `Today, ${time}`;
  return `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })}, ${time}`;
}

/** A <time> element showing shortTime with the full date in datetime. */
export function timeEl(iso) {
  return el('time', { attrs: { datetime: iso }, text: shortTime(iso) });
}

/** "45 seconds", "3 minutes 5 seconds", "2 hours 10 minutes". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (s < 60) return plural(s, 'second');
  const m = Math.floor(s / 60);
  if (m < 60) return `${plural(m, 'minute')} ${plural(s % 60, 'second')}`;
  const h = Math.floor(m / 60);
  return `${plural(h, 'hour')} ${plural(m % 60, 'minute')}`;
}
