"""The COLO wire protocol in python (stdlib only), for tests that speak it
raw: a frame encoder with its own CRC32C, and a blocking frame reader.
docs/colo-protocol.md is the specification."""
import struct

MAGIC = 0x4C53434F
VERSION = 2
HELLO, BEGIN, DATA, ACK, RESUME, HEARTBEAT, ERROR, BYE = range(1, 9)
PRIMARY, SECONDARY = 1, 2
MAX_STATE = 64 * 1024 * 1024
MAX_RAM_SIZE = 128 * 1024 * 1024
MAX_RAM = MAX_RAM_SIZE // 4096 * 4104 + 64
MAX_DATA = 28 + MAX_STATE + MAX_RAM
MAX_CONTROL = 4096


def _table():
    t = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        t.append(c)
    return t


_T = _table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _T[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def frame(mtype, payload, flags=0, length=None):
    """A frame; `length` overrides the length field (for bad frames)."""
    n = len(payload) if length is None else length
    head = struct.pack(">IBBH", n, mtype, flags, 0)
    crc = crc32c(payload, crc32c(head))
    return head + struct.pack(">I", crc) + payload


def hello(role, heartbeat_ms=100, version=VERSION, magic=MAGIC):
    return frame(HELLO, struct.pack(">IHBBI", magic, version, role, 0,
                                    heartbeat_ms))


def u64(mtype, v):
    return frame(mtype, struct.pack(">Q", v))


def ack(epoch, load_us=0):
    return frame(ACK, struct.pack(">QQ", epoch, load_us))


def data(epoch, state, out=b"", out_offset=0, ram=b""):
    return frame(DATA, struct.pack(">QQIII", epoch, out_offset, len(out),
                                   len(state), len(ram)) + out + state + ram)


def text(mtype, code, msg):
    return frame(mtype, struct.pack(">I", code) + msg.encode())


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" %
                           (len(buf), n))
        buf += chunk
    return buf


def recv(sock):
    """(type, payload) of the next frame; checks its CRC."""
    head = recv_exact(sock, 12)
    n, mtype, _flags, _res, crc = struct.unpack(">IBBHI", head)
    payload = recv_exact(sock, n)
    if crc32c(payload, crc32c(head[:8])) != crc:
        raise ValueError("bad CRC on a frame of type %d" % mtype)
    return mtype, payload


def recv_skip_heartbeats(sock):
    while True:
        mtype, payload = recv(sock)
        if mtype != HEARTBEAT:
            return mtype, payload
