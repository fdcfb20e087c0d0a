"""Does a client honour client_no_context_takeover (RFC 7692 §7.1.1.2)? Evidence without
wsconform for docs/compliance-findings.md: a raw server on 127.0.0.1:PORT that speaks just
enough of Autobahn's fuzzingserver URL protocol for a panel client driver (/getCaseCount
answers 1, /runCase, /updateReports), answers the client's offer with RESPONSE (default
`permessage-deflate; client_no_context_takeover`), sends three compressed text messages
and inflates each echo with a fresh raw zlib inflater, as the response lets the server do;
when that fails it says whether the previous messages as window would have inflated it.

Usage: python3 scripts/no-context-takeover-check.py PORT [RESPONSE] &
       <client driver> ws://127.0.0.1:PORT AGENT
Loopback only; exits after /updateReports."""
import base64, hashlib, socket, struct, sys, zlib

RESP_EXT = sys.argv[2] if len(sys.argv) > 2 else "permessage-deflate; client_no_context_takeover"
MSGS = [b'{"id": 1, "name": "alpha", "tags": ["x", "y"], "value": 3.25}' * 4,
        b'{"id": 2, "name": "alpha", "tags": ["x", "y"], "value": 3.25}' * 4,
        b'{"id": 3, "name": "alpha", "tags": ["x", "y"], "value": 3.25}' * 4]

def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: raise EOFError
        b += d
    return b

def read_frame(c):
    h = recv_exact(c, 2)
    fin, rsv1, op = h[0] >> 7, (h[0] >> 6) & 1, h[0] & 15
    ln = h[1] & 127
    if ln == 126: ln = struct.unpack(">H", recv_exact(c, 2))[0]
    elif ln == 127: ln = struct.unpack(">Q", recv_exact(c, 8))[0]
    mask = recv_exact(c, 4) if h[1] & 128 else b"\0\0\0\0"
    p = bytes(b ^ mask[i % 4] for i, b in enumerate(recv_exact(c, ln)))
    return fin, rsv1, op, p

def frame(op, payload, rsv1=0):
    n = len(payload)
    hdr = bytes([0x80 | (rsv1 << 6) | op])
    hdr += bytes([n]) if n < 126 else (bytes([126]) + struct.pack(">H", n))
    return hdr + payload

s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req: req += c.recv(4096)
    lines = req.decode().split("\r\n")
    path = lines[0].split()[1]
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    acc = base64.b64encode(hashlib.sha1((hdrs["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    ext = hdrs.get("sec-websocket-extensions")
    resp = f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {acc}\r\n"
    if path.startswith("/runCase") and ext: resp += f"Sec-WebSocket-Extensions: {RESP_EXT}\r\n"
    c.sendall((resp + "\r\n").encode())
    if path.startswith("/getCaseCount"):
        c.sendall(frame(1, b"1"))
    elif path.startswith("/runCase"):
        print("offer:", ext, "| response:", RESP_EXT)
        persistent = zlib.decompressobj(-15)
        for m in MSGS:
            co = zlib.compressobj(6, zlib.DEFLATED, -15)
            c.sendall(frame(1, (co.compress(m) + co.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv1=1))
            fin, rsv1, op, p = read_frame(c)
            data = p + b"\x00\x00\xff\xff"
            try:
                fresh = zlib.decompressobj(-15).decompress(data)
                print(f"echo rsv1={rsv1} {len(p)} B: fresh inflater OK, equal={fresh == m}")
            except zlib.error as e:
                print(f"echo rsv1={rsv1} {len(p)} B: fresh inflater FAILS ({e}); with the previous messages as window:",
                      persistent.decompress(data) == m)
                continue
            persistent.decompress(data)
        c.sendall(frame(8, struct.pack(">H", 1000)))
        try: read_frame(c)
        except EOFError: pass
    else:
        c.sendall(frame(8, struct.pack(">H", 1000)))
        c.close(); break
    c.close()
