// Sign in and create-account forms.
import { $ } from './dom.js';
import { post, ApiError } from './api.js';
import { saveSession } from './session.js';

function message(err, fallback) {
  if (err instanceof ApiError) {
    if (err.status === 401) return "That username and password don't match. Please check them and try again.";
    if (err.status === 429) return 'Too many tries. Please wait a minute, then try again.';
    if (err.code === 'conflict') {
      return /looks like/.test(err.message || '')
        ? 'That username looks too much like an existing one. Please choose another.'
        : 'That username is already taken. Please choose another.';
    }
    if (err.code === 'weak_password') return err.message;
    if (err.status && err.status < 500) return err.message;
  }
  return err?.message || fallback;
}

async function signIn(username, password) {
  const reply = await post('/auth/login', { username, password });
  saveSession({ token: reply.token, expires_at: reply.expires_at, user: reply.user });
  return reply.user;
}

/** Wires both forms; `onSignedIn(user)` is called after a successful sign-in. */
export function initSignIn(onSignedIn) {
  const form = $('signin-form');
  const error = $('signin-error');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const username = $('signin-username').value.trim();
    const password = $('signin-password').value;
    if (!username || !password) {
      error.textContent = 'Please enter your username and password.';
      (username ? $('signin-password') : $('signin-username')).focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const user = await signIn(username, password);
      form.reset();
      onSignedIn(user);
    } catch (err) {
      error.textContent = message(err, 'We could not sign you in. Please try again.');
    } finally {
      button.disabled = false;
    }
  });

  const reg = $('register-form');
  const regError = $('register-error');
  reg.addEventListener('submit', async (e) => {
    e.preventDefault();
    regError.textContent = '';
    const username = $('register-username').value.trim();
    const password = $('register-password').value;
    const displayName = $('register-display').value.trim();
    if (!username || [...password].length < 10) {
      regError.textContent = username ? 'Please choose a password of at least 10 characters.' : 'Please choose a username.';
      (username ? $('register-password') : $('register-username')).focus();
      return;
    }
    const button = reg.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const body = { username, password };
      if (displayName) body.display_name = displayName;
      await post('/auth/register', body);
      const user = await signIn(username, password);
      reg.reset();
      onSignedIn(user);
    } catch (err) {
      regError.textContent = message(err, 'We could not create your account. Please try again.');
    } finally {
      button.disabled = false;
    }
  });
}
