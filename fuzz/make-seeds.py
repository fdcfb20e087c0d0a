#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/) and nothing else.

Run from anywhere: python3 fuzz/make-seeds.py. Seeds are small, named after
what they are, and deterministic, so regenerating gives the same files.
"""
import os
import shutil
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=None, form=None, declared=None):
    """Encodes a frame like wire::Frame::encode, valid or not."""
    n = len(payload) if declared is None else declared
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)
    mbit = 0x80 if mask is not None else 0
    if form is None:
        form = 7 if n < 126 else 16 if n <= 0xFFFF else 64
    if form == 7:
        head = bytes([b0, mbit | n])
    elif form == 16:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask is not None:
        head += bytes(mask)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


KEY = (0x37, 0xFA, 0x21, 0x3D)


def streams(mask):
    """Named frame streams; `mask` is None for server frames."""
    f = lambda *a, **k: frame(*a, mask=mask, **k)  # noqa: E731
    return {
        "text_hello": f(1, b"Hello"),
        "binary_126_16bit": f(2, bytes(range(126))),
        "ping_pong_close": f(9, b"ping") + f(10, b"ping") + f(8, b"\x03\xe8bye"),
        "fragmented_with_ping": f(1, b"Hel", fin=False) + f(9, b"") + f(0, b"lo", fin=False) + f(0, b"!"),
        "empty_frames": f(2, b"") + f(1, b"", fin=False) + f(0, b""),
        "two_messages": f(1, "κόσμε".encode()) + f(2, b"\x00\xff"),
        # Autobahn-like invalid frames.
        "bad_rsv1": f(1, b"x", rsv=4),
        "bad_opcode_3": f(3, b""),
        "bad_opcode_11": f(11, b"x"),
        "bad_ping_126": f(9, bytes(126)),
        "bad_fragmented_ping": f(9, b"p", fin=False),
        "bad_continuation_first": f(0, b"x"),
        "bad_text_inside_message": f(1, b"a", fin=False) + f(1, b"b"),
        "bad_nonminimal_16": f(1, b"a", form=16),
        "bad_nonminimal_64": f(2, b"ab", form=64),
        "bad_length_msb": frame(2, b"", mask=mask, form=64, declared=1 << 63),
        "bad_length_huge": f(2, b"abc", declared=1 << 40),
        "truncated_header": f(2, bytes(300))[:3],
        "truncated_payload": f(1, b"Hello world")[:8],
    }


def write(target, seeds):
    d = os.path.join(ROOT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)


def main():
    client = streams(KEY)
    server = streams(None)
    client["bad_unmasked"] = frame(1, b"Hello")
    server["bad_masked"] = frame(1, b"Hello", mask=KEY)
    write("decode_client", client)
    write("decode_server", server)
    # Same seeds as decode_server, so the exec/s comparison is like for like.
    write("tungstenite_header", server)
    diff = {"server_" + k: v for k, v in list(server.items())[:12]}
    diff.update({"client_" + k: v for k, v in list(client.items())[:8]})
    write("differential_tungstenite", diff)

    # decode_chunked: config byte, k, k chunk lengths, stream.
    chunked = {}
    for i, (name, data) in enumerate(list(server.items())[:6]):
        chunked["server_" + name] = bytes([0x00, 3, 1, 2, 5]) + data
    for i, (name, data) in enumerate(list(client.items())[:6]):
        chunked["client_" + name] = bytes([0x01, 2, 1, 7]) + data
    chunked["lenient_rsv_nonminimal"] = bytes([0x04 | (7 << 3), 0]) + server["bad_nonminimal_16"] + frame(1, b"z", rsv=4)
    chunked["tiny_caps"] = bytes([0x40 | 0x80 | 3, 1, 1]) + server["fragmented_with_ping"]
    write("decode_chunked", chunked)

    # frame_roundtrip: any bytes are a valid `Arbitrary` input; these give
    # a few frames of each kind and size class.
    write("frame_roundtrip", {
        "frame_bytes_server": server["ping_pong_close"],
        "frame_bytes_client": client["fragmented_with_ping"],
        "zeros": bytes(64),
        "ones": b"\x01" * 64,
        "mixed": bytes(range(256)),
        "big_payload": b"\x01\x00\x01\x01" + b"\xff\xff\x00\x00" + bytes(range(200)) * 3,
    })

    # utf8: k, k chunk lengths, text. Autobahn 6.x flavoured.
    kosme = "κόσμε".encode()
    write("utf8", {
        "kosme": b"\x00" + kosme,
        "kosme_split_2": bytes([3, 1, 2, 1]) + kosme,
        "above_10ffff": b"\x00" + kosme + b"\xf4\x90\x80\x80" + b"edited",
        "surrogate": bytes([1, 3]) + b"ab\xed\xa0\x80",
        "overlong_slash": b"\x00\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf",
        "truncated": b"\x00ok\xe2\x82",
        "four_byte": bytes([2, 1, 1]) + "𤭢€$".encode(),
        "max_code_point": b"\x00\xf4\x8f\xbf\xbf",
        "bad_lead_bytes": b"\x00\x80\xbf\xc1\xf5\xff\xfe",
        "nonchar": b"\x00\xef\xbf\xbe\xef\xbf\xbf",
    })

    key = "dGhlIHNhbXBsZSBub25jZQ=="
    req = ("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\n"
           "Sec-WebSocket-Version: 13\r\n")
    write("handshake_request", {
        "rfc_example": (req + "\r\n").encode(),
        "with_protocols": (req + "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
                           "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n").encode(),
        "lowercase_tokens": req.lower().replace(key.lower(), key).encode() + b"\r\n",
        "keep_alive_upgrade": req.replace("Connection: Upgrade", "Connection: keep-alive, Upgrade").encode() + b"\r\n",
        "version_8": req.replace("Version: 13", "Version: 8").encode() + b"\r\n",
        "missing_key": req.replace("Sec-WebSocket-Key: " + key + "\r\n", "").encode() + b"\r\n",
        "post": req.replace("GET", "POST").encode() + b"\r\n",
        "http_1_0": req.replace("HTTP/1.1", "HTTP/1.0").encode() + b"\r\n",
        "bare_lf": (req + "\r\n").replace("\r\n", "\n").encode(),
        "with_frame_after": (req + "\r\n").encode() + frame(1, b"Hello", mask=KEY),
        "duplicate_host": (req + "Host: other\r\n\r\n").encode(),
    })

    accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " + accept + "\r\n")
    write("handshake_response", {
        "rfc_example": (resp + "\r\n").encode(),
        "with_protocol": (resp + "Sec-WebSocket-Protocol: chat\r\n\r\n").encode(),
        "with_extension": (resp + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n").encode(),
        "unoffered_protocol": (resp + "Sec-WebSocket-Protocol: other\r\n\r\n").encode(),
        "wrong_accept": (resp.replace(accept, "nope") + "\r\n").encode(),
        "status_200": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "status_426": b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n",
        "empty_reason": b"HTTP/1.1 101 \r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n",
        "with_frame_after": (resp + "\r\n").encode() + frame(1, b"Hello"),
        # Found by this target: status "011" parsed as 11 was written back as "11".
        "regression_status_011": b"HTTP/1.1 011 Switching\r\nUpgrade: websocket\r\n\r\n",
    })

    write("close_payload", {
        "empty": b"",
        "one_byte": b"\x03",
        "normal": b"\x03\xe8",
        "normal_reason": b"\x03\xe8Hello World!",
        "going_away_utf8": b"\x03\xe9" + "κόσμε".encode(),
        "no_status_1005": b"\x03\xed",
        "code_999": b"\x03\xe7",
        "code_1016": b"\x03\xf8",
        "code_3000": b"\x0b\xb8",
        "code_4999": b"\x13\x87",
        "code_5000": b"\x13\x88",
        "bad_reason_utf8": b"\x03\xe8\xce\xba\xed\xa0\x80",
        "too_long_126": b"\x03\xe8" + b"*" * 124,
        "max_125": b"\x03\xe8" + b"*" * 123,
    })

    # inflate_window: parameter byte (window bits - 8, 8: no context
    # takeover), cut byte (two messages), k, k chunk lengths, data. Raw
    # DEFLATE as permessage-deflate sends it: sync flush, tail removed.
    def pmd(messages, wbits=15, level=6, takeover=True):
        c = zlib.compressobj(level, zlib.DEFLATED, -max(wbits, 9))
        out = []
        for m in messages:
            if not takeover:
                c = zlib.compressobj(level, zlib.DEFLATED, -max(wbits, 9))
            z = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
            out.append(z[:-4] if z.endswith(b"\x00\x00\xff\xff") else z)
        return out

    def window_seed(params, messages, chunks=()):
        cut = len(messages[0]) * 255 // max(1, len(b"".join(messages)))
        return bytes([params, cut, len(chunks)] + list(chunks)) + b"".join(messages)

    text = b"permessage-deflate window " * 40
    repeats = bytes(range(256)) * 3 + bytes(range(0, 256, 3)) * 2
    write("inflate_window", {
        "rfc_hello_twice": window_seed(7, [bytes.fromhex("f248cdc9c90700"), bytes.fromhex("f200110000")]),
        "hello_twice_no_takeover": window_seed(7 | 8, [bytes.fromhex("f248cdc9c90700"), bytes.fromhex("f200110000")]),
        "stored": window_seed(7, [bytes.fromhex("000500faff48656c6c6f00"), b"\x00"]),
        "bfinal": window_seed(7, [bytes.fromhex("f348cdc9c90700"), bytes.fromhex("f248cdc9c90700")]),
        "text_15": window_seed(7, pmd([text, text]), (1, 3, 7)),
        "text_9_no_takeover": window_seed(1 | 8, pmd([text, text], 9, takeover=False)),
        "repeats_8": window_seed(0, pmd([repeats, repeats], 8), (2,)),
        "repeats_15_as_8": window_seed(0, pmd([repeats, repeats], 15)),
        "repeats_15_as_10": window_seed(2, pmd([repeats * 4, repeats], 15)),
        "level_1": window_seed(5, pmd([text + repeats, repeats + text], 13, 1)),
        "level_9": window_seed(6, pmd([repeats + text, text], 14, 9)),
        "level_0": window_seed(7, pmd([text[:300], text[:40]], 15, 0)),
        "reserved_block_type": window_seed(7, [b"\x07", b"\x00"]),
    })

    # extensions_header: Sec-WebSocket-Extensions values, offers and responses.
    write("extensions_header", {
        "bare": b"permessage-deflate",
        "autobahn_offer": b"permessage-deflate; client_no_context_takeover; client_max_window_bits",
        "two_offers": b"permessage-deflate; server_max_window_bits=10, permessage-deflate",
        "response_all": b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                        b"server_max_window_bits=8; client_max_window_bits=8",
        "quoted": b'permessage-deflate ;server_max_window_bits = "10";client_max_window_bits',
        "duplicate": b"permessage-deflate; client_max_window_bits; client_max_window_bits",
        "out_of_range": b"permessage-deflate; client_max_window_bits=16",
        "other_extension": b"x-foo; a=b, permessage-deflate, x-bar",
        "bad_quote": b'permessage-deflate; a="b',
    })


if __name__ == "__main__":
    main()
