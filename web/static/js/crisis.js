// Crisis resources: the always-visible "Get help now" panel and the lists shown with a safety frame.
import { $, el, clear } from './dom.js';

/** The UK services (the server sends its own list, which may differ, with each safety frame). */
export const DEFAULT_RESOURCES = [
  { name: 'Samaritans', contact: 'Call 116 123 (free)', available: '24 hours a day, 365 days a year' },
  { name: 'NHS 111', contact: 'Call 111 and choose option 2 for mental health', available: '24 hours a day' },
  { name: 'Emergency services', contact: 'Call 999 or go to A&E if you are in danger now', available: '24 hours a day' },
  { name: 'SHOUT', contact: 'Text SHOUT to 85258', available: '24 hours a day' },
];

/** A tel: or sms: link for a contact text such as "Call 116 123 (free)" or "Text SHOUT to 85258". */
function contactHref(contact) {
  const numbers = contact.match(/\d[\d ]{1,}\d/g);
  if (!numbers) return null;
  if (/^\s*text\b/i.test(contact)) {
    const word = contact.match(/text\s+([A-Z]+)\s+to/i);
    const digits = numbers[numbers.length - 1].replace(/\s/g, '');
    return `sms:${digits}${word ? `?body=${encodeURIComponent(word[1])}` : ''}`;
  }
  return `tel:${numbers[0].replace(/\s/g, '')}`;
}

/** Fills `list` (a <ul>) with resources; every text goes through textContent. */
export function renderResources(list, resources) {
  clear(list);
  for (const r of resources && resources.length ? resources : DEFAULT_RESOURCES) {
    const href = contactHref(r.contact || '');
    const contact = href
      ? el('a', { className: 'resource-contact', attrs: { href }, text: r.contact })
      : el('span', { className: 'resource-contact', text: r.contact });
    list.append(el('li', {},
      el('span', { className: 'resource-name', text: r.name }),
      contact,
      r.available ? el('span', { className: 'resource-when', text: r.available }) : null));
  }
}

/** Wires the "Get help now" disclosure button in the header. */
export function initHelpPanel() {
  const button = $('help-toggle');
  const panel = $('help-panel');
  renderResources($('help-resources'), DEFAULT_RESOURCES);
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    if (open) panel.scrollIntoView({ block: 'nearest' });
  });
}
