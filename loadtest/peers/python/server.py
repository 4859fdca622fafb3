"""Comparison peer: the chat subset of the Healing Space wire contract on Python asyncio + websockets.
Usage: python3 server.py PORT"""
import asyncio, json, sys, uuid, datetime, re

import websockets

seqs = {}


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


async def handle(ws):
    authed = False
    async for raw in ws:
        try:
            f = json.loads(raw)
        except ValueError:
            await ws.send(json.dumps({"type": "error", "code": "invalid_request", "message": "bad json"}))
            continue
        t = f.get("type")
        if t == "hello":
            authed = True
            await ws.send(json.dumps({"type": "welcome", "user": {"id": "u", "username": "u", "role": "patient"},
                                      "session_id": str(uuid.uuid4()), "server_time": now()}))
            continue
        if not authed:
            await ws.send(json.dumps({"type": "error", "code": "unauthorized", "message": "hello first"}))
            continue
        if t == "ping":
            await ws.send(json.dumps({"type": "pong", "server_time": now(), "ref": f.get("ref")}))
            continue
        if t != "chat.send":
            await ws.send(json.dumps({"type": "error", "code": "invalid_request", "message": "unsupported"}))
            continue
        conv = f.get("conversation_id") or str(uuid.uuid4())
        seq = seqs.get(conv, 0) + 1
        msg_id, reply_id = str(uuid.uuid4()), str(uuid.uuid4())
        await ws.send(json.dumps({"type": "chat.ack", "client_msg_id": f.get("client_msg_id"), "conversation_id": conv,
                                  "message_id": msg_id, "seq": seq, "ref": f.get("ref")}))
        await ws.send(json.dumps({"type": "ai.start", "conversation_id": conv, "message_id": reply_id, "reply_to": msg_id}))
        for word in re.findall(r"\S+\s*", str(f.get("text", ""))):
            await ws.send(json.dumps({"type": "ai.delta", "message_id": reply_id, "text": word}))
        seqs[conv] = seq + 1
        await ws.send(json.dumps({"type": "ai.end", "message_id": reply_id, "seq": seq + 1, "finish": "stop",
                                  "conversation_id": conv}))


async def main(port):
    async with websockets.serve(handle, "127.0.0.1", port, max_size=64 * 1024):
        print(f"listening on http://127.0.0.1:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9102))
