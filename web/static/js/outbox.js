// Messages the patient has written but the server has not yet acknowledged, kept in localStorage so
// nothing is lost offline or across a reload. Each keeps its client_msg_id, so a re-send after a
// reconnect is acknowledged again by the server and stored once.
//
// A message for a conversation that does not exist yet carries a `draft` key instead of a
// conversation_id; only the first message of a draft is sent until its ack names the conversation.

export class Outbox {
  constructor(userId) {
    this.key = `hs.outbox.${userId}`;
    this.inFlight = new Set();
  }

  items() {
    try { return JSON.parse(localStorage.getItem(this.key) || '[]'); } catch { return []; }
  }

  save(items) {
    try { localStorage.setItem(this.key, JSON.stringify(items)); } catch { /* storage full or disabled */ }
  }

  add(item) {
    const items = this.items();
    items.push(item);
    this.save(items);
  }

  /** The server stored `clientMsgId` in `conversationId`: forget it, and name its draft's conversation. */
  acked(clientMsgId, conversationId) {
    const items = this.items();
    const done = items.find((i) => i.client_msg_id === clientMsgId);
    let rest = items.filter((i) => i.client_msg_id !== clientMsgId);
    if (done && done.draft) {
      rest = rest.map((i) => (i.draft === done.draft ? { ...i, draft: null, conversation_id: conversationId } : i));
    }
    this.inFlight.delete(clientMsgId);
    this.save(rest);
    return done || null;
  }

  remove(clientMsgId) {
    this.inFlight.delete(clientMsgId);
    this.save(this.items().filter((i) => i.client_msg_id !== clientMsgId));
  }

  /** A new connection: nothing is in flight on it yet. */
  reset() { this.inFlight.clear(); }

  /** Sends what is not already in flight on this connection, in order, through `send(frame)`. */
  flush(send) {
    const draftsStarted = new Set();
    for (const item of this.items()) {
      if (item.draft) {
        if (draftsStarted.has(item.draft)) continue;
        draftsStarted.add(item.draft);
      }
      if (this.inFlight.has(item.client_msg_id)) continue;
      const frame = { type: 'chat.send', client_msg_id: item.client_msg_id, text: item.text, ref: item.client_msg_id };
      if (item.conversation_id) frame.conversation_id = item.conversation_id;
      if (!send(frame)) return;
      this.inFlight.add(item.client_msg_id);
    }
  }
}
