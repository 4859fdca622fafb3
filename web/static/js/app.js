// Entry point: theme, help and quick exit on every page; sign-in; then the page for the person's role.
import { $, announce } from './dom.js';
import { post, setUnauthorizedHandler } from './api.js';
import { getSession, clearSession } from './session.js';
import { initTheme } from './theme.js';
import { initHelpPanel } from './crisis.js';
import { initQuickExit, setQuickExitAvailable } from './quickexit.js';
import { initSignIn } from './signin.js';
import { Socket } from './socket.js';
import * as patient from './patient.js';
import * as clinician from './clinician.js';
import * as supervisor from './supervisor.js';
import * as admin from './admin.js';

const PAGES = {
  patient: { view: 'view-patient', hash: '#/chat', title: 'Your chat', module: patient },
  clinician: { view: 'view-clinician', hash: '#/console', title: 'Clinician console', module: clinician },
  supervisor: { view: 'view-supervisor', hash: '#/queue', title: 'Supervisor queue', module: supervisor },
  admin: { view: 'view-admin', hash: '#/admin', title: 'Administration', module: admin },
};

let current = null;
let socket = null;

function showView(id, title, hash) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== id;
  document.title = `${title} – Healing Space`;
  // replaceState, not a new history entry: Back never walks through the app's pages (quick exit).
  history.replaceState(null, '', hash);
}

function showSignIn() {
  $('sign-out').hidden = true;
  setQuickExitAvailable(true);
  showView('view-signin', 'Sign in', '#/signin');
}

function start(session) {
  const page = PAGES[session.user.role];
  if (!page) { clearSession(); showSignIn(); return; }
  current = page;
  $('sign-out').hidden = false;
  setQuickExitAvailable(session.user.role === 'patient');
  showView(page.view, page.title, page.hash);
  socket = new Socket(() => getSession()?.token, {
    welcome: (f) => current?.module.onWelcome?.(f),
    frame: (f) => current?.module.onFrame?.(f),
    disconnected: () => current?.module.onDisconnected?.(),
    unauthorized: () => signedOut('Your session has ended. Please sign in again.'),
  });
  page.module.start(session, socket);
  socket.start();
  document.querySelector(`#${page.view} [data-autofocus]`)?.focus();
}

function signedOut(notice) {
  current?.module.stop?.();
  current = null;
  socket?.stop();
  socket = null;
  clearSession();
  showSignIn();
  if (notice) announce(notice);
  $('signin-username').focus();
}

async function signOut() {
  try { await post('/auth/logout'); } catch { /* signed out locally either way */ }
  signedOut('You have signed out.');
}

function main() {
  initTheme();
  initHelpPanel();
  initQuickExit();
  setUnauthorizedHandler(() => signedOut('Your session has ended. Please sign in again.'));
  initSignIn(() => {
    const session = getSession();
    if (session) start(session);
  });
  $('sign-out').addEventListener('click', signOut);
  const session = getSession();
  if (session) start(session);
  else showSignIn();
}

main();
