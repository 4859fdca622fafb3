// Light/dark theme: follows the system (prefers-color-scheme) until the person picks one, which is remembered.
import { $ } from './dom.js';

const KEY = 'hs.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

function chosen() {
  try {
    const t = localStorage.getItem(KEY);
    return t === 'dark' || t === 'light' ? t : null;
  } catch { return null; }
}

function effective() {
  return chosen() || (media.matches ? 'dark' : 'light');
}

function apply() {
  const pick = chosen();
  if (pick) document.documentElement.dataset.theme = pick;
  else delete document.documentElement.dataset.theme;
  $('theme-toggle').setAttribute('aria-pressed', String(effective() === 'dark'));
}

export function initTheme() {
  apply();
  media.addEventListener('change', apply);
  $('theme-toggle').addEventListener('click', () => {
    try { localStorage.setItem(KEY, effective() === 'dark' ? 'light' : 'dark'); } catch { /* private mode */ }
    apply();
  });
}
