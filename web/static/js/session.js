// The signed-in session: token and user, kept in sessionStorage (gone when the tab closes).
const KEY = 'hs.session';

export function getSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && s.token && s.user && (!s.expires_at || new Date(s.expires_at) > new Date())) return s;
  } catch { /* a damaged value counts as signed out */ }
  return null;
}

export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
