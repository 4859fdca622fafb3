// The patient's chat: conversations, history paged on scroll, streamed AI replies, the safety panel,
// and an outbox so messages written offline are sent (once) when the connection is back.
import { $, el, clear, uuid, announce } from './dom.js';
import { get } from './api.js';
import { Outbox } from './outbox.js';
import { messageEl, finishAiMessage } from './messages.js';
import { renderResources, pageText } from './crisis.js';
import { shortTime } from './format.js';

const PAGE = 30;
const CONV_KEY = 'hs.conversation';

let socket = null;
let outbox = null;
let listeners = null;
let state = null;

function freshState() {
  return {
    conversationId: null, // the open conversation, or null for a new one not yet started
    draft: uuid(), // local key of the new conversation while it has no id
    oldestSeq: null,
    hasMore: false,
    loading: false,
    streaming: null, // message_id of the AI reply being streamed
    welcomed: false,
    generation: 0, // bumps on every conversation switch, so late fetches are dropped
  };
}

const log = () => $('chat-log');

// ---------- rendering ----------

function emptyNote() {
  return el('p', { className: 'chat-empty', attrs: { id: 'chat-empty' }, text: "Say hello whenever you're ready. Whatever is on your mind, you can write it here." });
}

function updateEmpty() {
  const has = log().querySelector('.msg');
  const note = $('chat-empty');
  if (has && note) note.remove();
  if (!has && !note) log().append(emptyNote());
}

function olderButton() {
  return el('button', {
    className: 'button-secondary load-older',
    text: 'Show earlier messages',
    attrs: { type: 'button', id: 'load-older' },
    on: { click: loadOlder },
  });
}

function pendingText(online) {
  return online ? 'Sending…' : "Waiting to send. It will go as soon as you're back online.";
}

function pendingEl(item) {
  const node = messageEl({ author: 'patient', text: item.text }, 'patient');
  node.dataset.clientMsgId = item.client_msg_id;
  node.querySelector('.msg-meta').textContent = pendingText(socket?.isReady);
  return node;
}

function scrollToEnd() {
  const l = log();
  l.scrollTop = l.scrollHeight;
}

function appendMessage(node) {
  log().append(node);
  updateEmpty();
  scrollToEnd();
}

function findByMessageId(id) {
  return [...log().querySelectorAll('.msg')].find((n) => n.dataset.messageId === id) || null;
}

function findByClientId(id) {
  return [...log().querySelectorAll('.msg')].find((n) => n.dataset.clientMsgId === id) || null;
}

function pendingForCurrent() {
  return outbox.items().filter((i) => (state.conversationId ? i.conversation_id === state.conversationId : i.draft === state.draft));
}

// ---------- conversations ----------

async function loadConversations() {
  const list = $('conversation-list');
  let conversations = [];
  try {
    conversations = (await get('/conversations')).conversations || [];
  } catch {
    return [];
  }
  clear(list);
  conversations.forEach((c, i) => {
    const label = `${i === 0 ? 'Latest conversation' : 'Conversation'}, started ${shortTime(c.started_at)}`;
    const button = el('button', {
      attrs: { type: 'button', 'aria-current': c.id === state.conversationId ? 'true' : false },
      text: label,
      on: { click: () => openConversation(c.id) },
    });
    list.append(el('li', {}, button));
  });
  return conversations;
}

function markCurrentInList() {
  for (const b of $('conversation-list').querySelectorAll('button')) b.removeAttribute('aria-current');
  loadConversations();
}

async function openConversation(id) {
  state.generation += 1;
  const generation = state.generation;
  state.conversationId = id;
  state.streaming = null;
  $('stop-button').hidden = true;
  if (id) sessionStorage.setItem(CONV_KEY, id);
  else sessionStorage.removeItem(CONV_KEY);
  clear(log());
  state.oldestSeq = null;
  state.hasMore = false;
  if (id) {
    let messages = [];
    try {
      messages = (await get(`/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE}`)).messages || [];
    } catch (err) {
      if (generation === state.generation) appendMessage(el('p', { className: 'chat-empty', text: `We couldn't load this conversation. ${err.message}` }));
      return;
    }
    if (generation !== state.generation) return;
    state.hasMore = messages.length === PAGE;
    state.oldestSeq = messages.length ? messages[0].seq : null;
    if (state.hasMore) log().append(olderButton());
    for (const m of messages) log().append(messageEl(m, 'patient'));
  }
  for (const item of pendingForCurrent()) log().append(pendingEl(item));
  updateEmpty();
  scrollToEnd();
  markCurrentInList();
}

async function loadOlder() {
  if (!state.hasMore || state.loading || !state.conversationId) return;
  state.loading = true;
  const generation = state.generation;
  const l = log();
  try {
    const q = `before_seq=${state.oldestSeq}&limit=${PAGE}`;
    const messages = (await get(`/conversations/${encodeURIComponent(state.conversationId)}/messages?${q}`)).messages || [];
    if (generation !== state.generation) return;
    const before = l.scrollHeight;
    const button = $('load-older');
    const anchor = button ? button.nextSibling : l.firstChild;
    for (const m of messages) l.insertBefore(messageEl(m, 'patient'), anchor);
    state.hasMore = messages.length === PAGE;
    if (messages.length) state.oldestSeq = messages[0].seq;
    if (!state.hasMore && button) {
      const hadFocus = document.activeElement === button;
      button.remove();
      if (hadFocus) l.focus();
    }
    l.scrollTop += l.scrollHeight - before; // keep what the person was reading in place
    announce(messages.length ? `Loaded ${messages.length} earlier messages.` : 'There are no earlier messages.');
  } catch {
    announce("We couldn't load earlier messages. Please try again.");
  } finally {
    state.loading = false;
  }
}

function newConversation() {
  state.draft = uuid();
  openConversation(null);
  $('message-input').focus();
  announce('Started a new conversation.');
}

// ---------- sending ----------

function sendMessage() {
  const input = $('message-input');
  const text = input.value.trim();
  if (!text) return;
  const item = {
    client_msg_id: uuid(),
    conversation_id: state.conversationId,
    draft: state.conversationId ? null : state.draft,
    text,
    created_at: new Date().toISOString(),
  };
  outbox.add(item);
  appendMessage(pendingEl(item));
  input.value = '';
  flush();
  if (!socket.isReady) announce("You're offline. Your message will be sent when you're back online.");
}

function flush() {
  if (socket?.isReady) outbox.flush((frame) => socket.send(frame));
}

function setPendingLabels() {
  for (const node of log().querySelectorAll('.msg[data-client-msg-id]')) {
    if (!node.dataset.messageId) node.querySelector('.msg-meta').textContent = pendingText(socket?.isReady);
  }
}

// ---------- frames ----------

function onAck(f) {
  const item = outbox.acked(f.client_msg_id, f.conversation_id);
  const wasDraft = item && item.draft && item.draft === state.draft && !state.conversationId;
  if (wasDraft) {
    state.conversationId = f.conversation_id;
    state.draft = uuid();
    sessionStorage.setItem(CONV_KEY, f.conversation_id);
    loadConversations();
  }
  if (f.conversation_id === state.conversationId) {
    let node = findByClientId(f.client_msg_id) || findByMessageId(f.message_id);
    if (!node && item) {
      node = pendingEl(item);
      appendMessage(node);
    }
    if (node) {
      node.dataset.messageId = f.message_id;
      node.dataset.seq = String(f.seq);
      node.querySelector('.msg-meta').textContent = 'Sent';
    }
  }
  flush(); // later messages of a new conversation now know where to go
}

function showSafety(f) {
  const panel = $('safety-panel');
  $('safety-message').textContent = f.message || "It sounds like things are really hard right now. You don't have to face this alone.";
  const paused = $('safety-paused');
  paused.hidden = !f.chat_paused;
  paused.textContent = f.chat_paused
    ? pageText('paused_notice', 'The AI companion is taking a pause so a person from your care team can be in touch with you.')
    : '';
  renderResources($('safety-resources'), f.resources);
  panel.hidden = false;
  panel.scrollIntoView({ block: 'start' });
}

function onAiStart(f) {
  if (f.conversation_id !== state.conversationId) return;
  const node = messageEl({ id: f.message_id, author: 'ai', text: '' }, 'patient');
  // messageEl adds the explanation control for finished messages; a streaming one gets it at ai.end.
  for (const extra of node.querySelectorAll('.button-link, .explanation')) extra.remove();
  node.setAttribute('aria-busy', 'true');
  node.querySelector('.msg-meta').textContent = 'Writing…';
  appendMessage(node);
  state.streaming = f.message_id;
  $('stop-button').hidden = false;
}

function onAiDelta(f) {
  const node = findByMessageId(f.message_id);
  if (!node) return;
  node.querySelector('.msg-text').append(document.createTextNode(f.text));
  const l = log();
  if (l.scrollHeight - l.scrollTop - l.clientHeight < 120) scrollToEnd();
}

function onAiEnd(f) {
  const node = findByMessageId(f.message_id);
  if (state.streaming === f.message_id) {
    state.streaming = null;
    const stop = $('stop-button');
    const hadFocus = document.activeElement === stop;
    stop.hidden = true;
    if (hadFocus) $('message-input').focus();
  }
  if (!node) return;
  node.dataset.seq = String(f.seq);
  if (f.finish === 'safety' && f.notice) node.querySelector('.msg-text').textContent = f.notice;
  node.querySelector('.msg-meta').textContent = '';
  node.querySelector('.msg-meta').append(el('time', { attrs: { datetime: new Date().toISOString() }, text: shortTime(new Date().toISOString()) }));
  finishAiMessage(node, { id: f.message_id, finish: f.finish, notice: f.notice }, 'patient');
  scrollToEnd();
}

function onError(f) {
  const item = f.ref && outbox.items().find((i) => i.client_msg_id === f.ref);
  if (!item) return;
  if (f.code === 'rate_limited' || f.code === 'unavailable' || f.code === 'internal') {
    outbox.inFlight.delete(item.client_msg_id); // try again on the next reconnect or send
    return;
  }
  outbox.remove(item.client_msg_id);
  const node = findByClientId(item.client_msg_id);
  if (node) node.querySelector('.msg-meta').textContent = "This message couldn't be sent. Please try writing it again.";
  announce("Sorry, your message couldn't be sent. Please try again.");
}

export function onFrame(f) {
  switch (f.type) {
    case 'chat.ack': onAck(f); break;
    case 'safety': showSafety(f); break;
    case 'ai.start': onAiStart(f); break;
    case 'ai.delta': onAiDelta(f); break;
    case 'ai.end': onAiEnd(f); break;
    case 'conversation.resumed':
      if (f.conversation_id === state.conversationId) {
        $('safety-paused').hidden = true;
        appendMessage(el('p', { className: 'msg msg-system', text: 'Your care team has switched the AI companion back on. You can carry on chatting whenever you like.' }));
      }
      break;
    case 'error': onError(f); break;
    default: break;
  }
}

export function onWelcome() {
  outbox.reset();
  if (state.welcomed && state.conversationId) {
    // Back after a break: show anything stored meanwhile (a reply may have finished while we were away).
    openConversation(state.conversationId).then(flush);
  } else {
    flush();
  }
  state.welcomed = true;
  setPendingLabels();
}

export function onDisconnected() {
  if (state.streaming) {
    const node = findByMessageId(state.streaming);
    if (node) {
      node.removeAttribute('aria-busy');
      node.querySelector('.msg-meta').textContent = 'Connection lost. The full reply will show when you are back online.';
    }
    state.streaming = null;
    $('stop-button').hidden = true;
  }
  setPendingLabels();
}

export async function start(session, sock) {
  socket = sock;
  outbox = new Outbox(session.user.id);
  state = freshState();
  listeners = new AbortController();
  const opts = { signal: listeners.signal };
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); }, opts);
  $('message-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendMessage();
    }
  }, opts);
  $('stop-button').addEventListener('click', () => {
    if (state.streaming) socket.send({ type: 'chat.cancel', message_id: state.streaming });
  }, opts);
  $('new-conversation').addEventListener('click', newConversation, opts);
  $('safety-dismiss').addEventListener('click', () => { $('safety-panel').hidden = true; $('message-input').focus(); }, opts);
  log().addEventListener('scroll', () => { if (log().scrollTop < 40) loadOlder(); }, opts);

  $('safety-panel').hidden = true;
  const conversations = await loadConversations();
  const remembered = sessionStorage.getItem(CONV_KEY);
  const pick = conversations.find((c) => c.id === remembered) || conversations[0];
  const waitingDraft = outbox.items().find((i) => i.draft);
  if (!pick && waitingDraft) state.draft = waitingDraft.draft; // a new conversation written offline
  await openConversation(pick ? pick.id : null);
  if (pick?.chat_paused) {
    $('safety-paused').hidden = false;
    $('safety-paused').textContent = pageText('paused_return_notice', 'The AI companion is paused until someone from your care team has been in touch.');
    $('safety-message').textContent = pageText('paused_return_message', 'If you need to talk to someone now, these services are here for you.');
    renderResources($('safety-resources'), null);
    $('safety-panel').hidden = false;
  }
}

export function stop() {
  listeners?.abort();
  clear(log());
  clear($('conversation-list'));
  $('safety-panel').hidden = true;
  $('stop-button').hidden = true;
  sessionStorage.removeItem(CONV_KEY);
}
