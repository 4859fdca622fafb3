// Small DOM helpers. Untrusted text only ever goes through textContent / createTextNode.

/** Creates an element. `props` may hold className, text, attrs {name: value}, on {event: fn}. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = String(props.text);
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [event, fn] of Object.entries(props.on || {})) node.addEventListener(event, fn);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** Says `text` politely to screen readers through the shared status region. */
export function announce(text) {
  const region = $('announcer');
  region.textContent = '';
  // A fresh text node after a tick makes repeated identical messages be read again.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** Removes every child of `node`. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

/** A random UUID, also where crypto.randomUUID is missing (plain http on a non-local host). */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** After a re-render, focus the control that had it, or the section heading if it is gone. */
export function restoreFocus(focusedId, headingId) {
  if (!focusedId) return;
  const again = document.getElementById(focusedId);
  if (again) again.focus();
  else if (!document.activeElement || document.activeElement === document.body) $(headingId).focus();
}
