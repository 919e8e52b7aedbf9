/*
 * The COLO wire protocol between the primary and the secondary coordinator
 * sides (docs/colo-protocol.md is the specification; this is its code).
 *
 * Every message is one frame: a 12-byte header (payload length u32, type
 * u8, flags u8 = 0, reserved u16 = 0, CRC32C u32 over header bytes 0..7
 * and the payload; all integers big-endian) and the payload. Each type
 * has a fixed payload layout, checked in full before a message is handed
 * out. The reader is incremental and never blocks: feed it whatever bytes
 * arrived; it asks for no more than one header or one payload at a time
 * and refuses a length over the type's cap before allocating anything.
 */
#ifndef LS_COLO_PROTO_H
#define LS_COLO_PROTO_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COLO_PROTO_MAGIC   0x4C53434Fu /* "LSCO" */
#define COLO_PROTO_VERSION 2
#define COLO_PROTO_HDR_LEN 12

/* Cap on the device state plus the console output of one checkpoint. */
#define COLO_PROTO_MAX_STATE (64u * 1024 * 1024)
/* Largest guest RAM the coordinator carries: a pairing whose dm has more
   is refused at start (docs/colo.md). The dm itself accepts up to 2 GiB,
   but reads a RAM file of at most 256 MiB, and a full checkpoint of more
   than this would be held whole in memory on both sides. */
#define COLO_PROTO_MAX_RAM_SIZE (128u * 1024 * 1024)
/* Cap on the RAM stream of one checkpoint: a full save of
   COLO_PROTO_MAX_RAM_SIZE with no zero page (8 + 4096 bytes a page) plus
   the stream's header, block name and end marker (docs/ram-format.md). */
#define COLO_PROTO_MAX_RAM (COLO_PROTO_MAX_RAM_SIZE / 4096u * 4104u + 64u)
/* Fixed part of a checkpoint-data payload (epoch, out offset, 3 lengths). */
#define COLO_PROTO_DATA_FIXED 28u
/* Cap on a checkpoint-data payload. */
#define COLO_PROTO_MAX_DATA                                                    \
    (COLO_PROTO_DATA_FIXED + COLO_PROTO_MAX_STATE + COLO_PROTO_MAX_RAM)
/* Cap on every other payload. */
#define COLO_PROTO_MAX_CONTROL 4096u
/* Cap on the text of an error or bye message. */
#define COLO_PROTO_MAX_TEXT 1024u

typedef enum ColoMsgType {
    COLO_MSG_HELLO = 1,     /* magic, version, role, heartbeat interval */
    COLO_MSG_BEGIN = 2,     /* checkpoint-begin: stop your dm (epoch) */
    COLO_MSG_DATA = 3,      /* checkpoint-data: epoch, output, devices, RAM */
    COLO_MSG_ACK = 4,       /* checkpoint loaded (epoch, load time) */
    COLO_MSG_RESUME = 5,    /* resume your dm (epoch) */
    COLO_MSG_HEARTBEAT = 6, /* I am alive (sequence number) */
    COLO_MSG_ERROR = 7,     /* failure; the session ends (code, text) */
    COLO_MSG_BYE = 8,       /* clean end of session (code, text) */
} ColoMsgType;

#define COLO_MSG_TYPE_MAX COLO_MSG_BYE

typedef enum ColoRole {
    COLO_ROLE_PRIMARY = 1,
    COLO_ROLE_SECONDARY = 2,
} ColoRole;

/* Codes carried by ERROR and BYE. */
typedef enum ColoCode {
    COLO_CODE_OK = 0,          /* bye: done, no failover wanted */
    COLO_CODE_PROTOCOL = 1,    /* malformed or unexpected message */
    COLO_CODE_DM = 2,          /* the sender's dm failed a command */
    COLO_CODE_DM_LOST = 3,     /* the sender's dm is gone: fail over */
    COLO_CODE_LOAD_FAILED = 4, /* the secondary's dm refused the state */
    COLO_CODE_BUSY = 5,        /* the secondary is paired already */
} ColoCode;

/*
 * A decoded message. Which fields are meaningful depends on `type`;
 * `out` and `state` point into `payload`. colo_msg_clear frees.
 */
typedef struct ColoMsg {
    ColoMsgType type;
    uint8_t *payload; /* owned */
    size_t payload_len;
    uint64_t epoch;      /* BEGIN, DATA, ACK, RESUME */
    uint64_t value;      /* ACK: load time in us; HEARTBEAT: sequence */
    uint64_t out_offset; /* DATA: stream offset of out[0] */
    const uint8_t *out;  /* DATA: the epoch's held console output */
    uint32_t out_len;
    const uint8_t *state; /* DATA: the device state (savevm stream) */
    uint32_t state_len;
    const uint8_t *ram; /* DATA: the RAM stream, or NULL (ram_len 0) */
    uint32_t ram_len;
    uint32_t code;         /* ERROR, BYE */
    char *text;            /* ERROR, BYE: NUL-terminated copy, owned */
    uint16_t version;      /* HELLO */
    uint8_t role;          /* HELLO */
    uint32_t heartbeat_ms; /* HELLO */
} ColoMsg;

void colo_msg_clear(ColoMsg *m);
const char *colo_msg_type_name(unsigned type);

/* ---- encoding: each returns the whole frame ---- */

GBytes *colo_proto_hello(ColoRole role, uint32_t heartbeat_ms);
/* BEGIN, RESUME, HEARTBEAT: one u64. ACK: epoch and load_us. */
GBytes *colo_proto_u64(ColoMsgType type, uint64_t v);
GBytes *colo_proto_ack(uint64_t epoch, uint64_t load_us);
/* ERROR or BYE; text is cut at COLO_PROTO_MAX_TEXT bytes. */
GBytes *colo_proto_text(ColoMsgType type, uint32_t code, const char *text);
/* The parts of a checkpoint-data message (borrowed). */
typedef struct ColoDataParts {
    uint64_t epoch, out_offset;
    const uint8_t *out, *state, *ram;
    size_t out_len, state_len, ram_len; /* state_len >= 1; ram_len may be 0 */
} ColoDataParts;

/* NULL with *errp when the state is empty, the state and output exceed
   COLO_PROTO_MAX_STATE, or the RAM stream COLO_PROTO_MAX_RAM. */
GBytes *colo_proto_data(const ColoDataParts *d, GError **errp);

/* ---- decoding ---- */

typedef struct ColoProtoReader {
    uint8_t hdr[COLO_PROTO_HDR_LEN];
    size_t hdr_have;
    uint8_t *payload; /* allocated once the header passed its checks */
    size_t len, have;
    bool failed; /* sticky: a session ends at its first bad byte */
} ColoProtoReader;

void colo_proto_reader_init(ColoProtoReader *r);
void colo_proto_reader_clear(ColoProtoReader *r);

/*
 * Where the next bytes go: at most *len bytes at *buf (a header or a
 * payload; never past the current frame), so a caller can read() straight
 * into it and call colo_proto_reader_advance with the count.
 */
void colo_proto_reader_space(ColoProtoReader *r, uint8_t **buf, size_t *len);

/*
 * Accounts `n` bytes written at the space. Returns 1 with *out filled
 * (caller owns it: colo_msg_clear) when a frame completed and decoded, 0
 * when more bytes are needed, -1 with *errp on a bad frame (cap exceeded,
 * CRC mismatch, unknown type, nonzero flags, bad layout); after -1 the
 * reader refuses everything.
 */
int colo_proto_reader_advance(ColoProtoReader *r, size_t n, ColoMsg *out,
                              GError **errp);

/*
 * Convenience over space/advance for buffers (tests, fuzzing): consumes
 * bytes from buf up to the end of one message; *used says how many.
 * Same results as colo_proto_reader_advance.
 */
int colo_proto_reader_feed(ColoProtoReader *r, const uint8_t *buf, size_t len,
                           size_t *used, ColoMsg *out, GError **errp);

/* Checks a HELLO against ours: magic, version, and the peer's role. */
bool colo_proto_check_hello(const ColoMsg *m, ColoRole want_role,
                            GError **errp);

#endif
