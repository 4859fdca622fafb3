// Crisis services and texts: the always-visible "Get help now" panel and the lists shown with a
// safety frame. Every service, number and crisis text comes from the deployment's crisis catalogue
// (GET /api/v1/crisis, public so the sign-in page has it too): this file names no service and no
// number, so a deployment outside the UK never shows a UK one.
import { $, el, clear } from './dom.js';

let catalogue = null;
let loading = null;

/** Fetches the catalogue once (again after a failure); resolves to it, or null if unreachable. */
export function loadCatalogue() {
  if (catalogue) return Promise.resolve(catalogue);
  if (!loading) {
    const lang = encodeURIComponent(document.documentElement.lang || '');
    loading = fetch(`/api/v1/crisis${lang ? `?lang=${lang}` : ''}`, { headers: { Accept: 'application/json' } })
      .then((res) => (res.ok ? res.json() : null))
      .catch(() => null)
      .then((c) => {
        if (c && Array.isArray(c.resources)) catalogue = c;
        loading = null;
        for (const fn of waiting.splice(0)) fn(catalogue);
        return catalogue;
      });
  }
  return loading;
}

const waiting = [];
/** Runs `fn(catalogue)` now if it is loaded, else once it is. */
function withCatalogue(fn) {
  if (catalogue) fn(catalogue);
  else {
    waiting.push(fn);
    loadCatalogue();
  }
}

/** A page text of the catalogue (`page.<key>`), or `fallback` while it cannot be reached. */
export function pageText(key, fallback) {
  return catalogue?.page?.[key] || fallback;
}

/** A tel:, sms: or https: link for a service, from its structured fields. */
function contactHref(r) {
  if (r.phone) return `tel:${r.phone.replace(/\s/g, '')}`;
  if (r.sms) return `sms:${r.sms.replace(/\s/g, '')}${r.sms_keyword ? `?body=${encodeURIComponent(r.sms_keyword)}` : ''}`;
  if (r.url && /^https:\/\//.test(r.url)) return r.url;
  return null;
}

function renderList(list, resources) {
  clear(list);
  for (const r of resources) {
    const href = contactHref(r);
    const contact = href
      ? el('a', { className: 'resource-contact', attrs: { href }, text: r.contact })
      : el('span', { className: 'resource-contact', text: r.contact });
    list.append(el('li', {},
      el('span', { className: 'resource-name', text: r.name }),
      contact,
      r.when ? el('span', { className: 'resource-when', text: r.when }) : null,
      r.available ? el('span', { className: 'resource-when', text: r.available }) : null));
  }
}

/** While the catalogue cannot be reached: no number we could get wrong, only where to turn. */
function renderUnreachable(list) {
  clear(list);
  list.append(el('li', {}, el('span', { className: 'resource-name', text: 'If you are in danger now, call your local emergency number.' })));
}

/**
 * Fills `list` (a <ul>) with services; every text goes through textContent. `resources`: the list a
 * safety frame carried; without one, the catalogue's list for high risk (emergency first).
 */
export function renderResources(list, resources) {
  if (resources && resources.length) {
    renderList(list, resources);
    return;
  }
  if (catalogue) {
    renderList(list, catalogue.levels.high);
    return;
  }
  renderUnreachable(list);
  withCatalogue((c) => { if (c) renderList(list, c.levels.high); });
}

/** Wires the "Get help now" disclosure button in the header. */
export function initHelpPanel() {
  const button = $('help-toggle');
  const panel = $('help-panel');
  const fill = (c) => {
    if (!c) return;
    renderList($('help-resources'), c.levels.high);
    if (c.page?.help_intro) $('help-intro').textContent = c.page.help_intro;
  };
  renderUnreachable($('help-resources'));
  withCatalogue(fill);
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    if (open) {
      if (!catalogue) withCatalogue(fill); // try again: the first fetch may have failed
      panel.scrollIntoView({ block: 'nearest' });
    }
  });
}
