// Quick exit: leaves for a neutral site at once (button, or Esc pressed three times), clears what this
// app stored, and uses location.replace so the Back button does not return here.
import { $ } from './dom.js';
import { getSession } from './session.js';

export const NEUTRAL_URL = 'https://www.bbc.co.uk/weather';
const PRESSES = 3;
const WINDOW_MS = 1500;

let enabled = false;
let presses = [];

export function quickExit() {
  const session = getSession();
  if (session) {
    // Sign out on the server too; keepalive lets it finish after we leave.
    fetch('/api/v1/auth/logout', { method: 'POST', keepalive: true, headers: { Authorization: `Bearer ${session.token}` } })
      .catch(() => {});
  }
  try { sessionStorage.clear(); } catch { /* ignore */ }
  try { localStorage.clear(); } catch { /* ignore */ }
  document.title = 'Weather';
  document.body.replaceChildren();
  window.location.replace(NEUTRAL_URL);
}

/** Shows or hides the Quick exit control (shown on the sign-in and patient pages). */
export function setQuickExitAvailable(on) {
  enabled = on;
  $('quick-exit').hidden = !on;
}

export function initQuickExit() {
  $('quick-exit').addEventListener('click', quickExit);
  document.addEventListener('keydown', (e) => {
    if (!enabled || e.key !== 'Escape') return;
    const now = Date.now();
    presses = presses.filter((t) => now - t < WINDOW_MS);
    presses.push(now);
    if (presses.length >= PRESSES) quickExit();
  });
}
