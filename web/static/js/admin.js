// A simple administration page: add accounts.
import { $ } from './dom.js';
import { post } from './api.js';

let listeners = null;

export function start() {
  listeners = new AbortController();
  $('admin-user-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const result = $('admin-result');
    const body = {
      username: $('admin-username').value.trim(),
      password: $('admin-password').value,
      role: $('admin-role').value,
    };
    const display = $('admin-display').value.trim();
    if (display) body.display_name = display;
    if (!body.username || !body.password) {
      result.textContent = 'Please fill in a username and a password.';
      return;
    }
    try {
      const reply = await post('/admin/users', body);
      result.textContent = `Added ${reply.user.username} as ${reply.user.role}. Their id is ${reply.user.id}.`;
      e.target.reset();
    } catch (err) {
      result.textContent = `Could not add the user: ${err.message}`;
    }
  }, { signal: listeners.signal });
}

export function stop() {
  listeners?.abort();
  $('admin-result').textContent = '';
}
