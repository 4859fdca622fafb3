// Comparison peer: the chat subset of the Healing Space wire contract on Node.js + ws.
// Usage: node server.js PORT
'use strict';
const { WebSocketServer } = require('ws');
const crypto = require('crypto');

const port = Number(process.argv[2] || 9101);
const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 * 1024 });
const seqs = new Map();

wss.on('connection', (ws) => {
  let authed = false;
  ws.on('message', (data) => {
    let f;
    try { f = JSON.parse(data.toString()); } catch { return ws.send(JSON.stringify({ type: 'error', code: 'invalid_request', message: 'bad json' })); }
    if (f.type === 'hello') {
      authed = true;
      return ws.send(JSON.stringify({ type: 'welcome', user: { id: 'u', username: 'u', role: 'patient' }, session_id: crypto.randomUUID(), server_time: new Date().toISOString() }));
    }
    if (!authed) return ws.send(JSON.stringify({ type: 'error', code: 'unauthorized', message: 'hello first' }));
    if (f.type === 'ping') return ws.send(JSON.stringify({ type: 'pong', server_time: new Date().toISOString(), ref: f.ref }));
    if (f.type !== 'chat.send') return ws.send(JSON.stringify({ type: 'error', code: 'invalid_request', message: 'unsupported' }));
    const conv = f.conversation_id || crypto.randomUUID();
    const seq = (seqs.get(conv) || 0) + 1;
    const msgId = crypto.randomUUID();
    ws.send(JSON.stringify({ type: 'chat.ack', client_msg_id: f.client_msg_id, conversation_id: conv, message_id: msgId, seq, ref: f.ref }));
    const replyId = crypto.randomUUID();
    ws.send(JSON.stringify({ type: 'ai.start', conversation_id: conv, message_id: replyId, reply_to: msgId }));
    for (const w of String(f.text).split(/(?<= )/)) ws.send(JSON.stringify({ type: 'ai.delta', message_id: replyId, text: w }));
    seqs.set(conv, seq + 1);
    ws.send(JSON.stringify({ type: 'ai.end', message_id: replyId, seq: seq + 1, finish: 'stop', conversation_id: conv }));
  });
});
console.log(`listening on http://127.0.0.1:${port}`);
