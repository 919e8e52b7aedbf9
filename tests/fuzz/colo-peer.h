/*
 * The other coordinator side, played from a fuzz input against the real
 * primary or secondary side (colo_primary_run / colo_secondary_run, their
 * connection, hello exchange and state machine) with the fake dm of
 * colo-fake-dm.c, over loopback TCP, in one process.
 *
 * Input: byte 0 holds flags; bit 0 set: the played peer writes the right
 * CRC32C into every complete frame it sends, so that mutated payloads
 * reach the state machine instead of stopping at the CRC check. The rest
 * is what the peer sends, cut into frames by their length fields (the
 * last may be short; that is sent as it is), starting before the
 * handshake: the first frame is the peer's hello.
 *
 * Against the secondary the peer sends everything at once and half-closes.
 * Against the primary (checkpoint every 1 ms) it answers: one frame after
 * the primary's hello and one after each checkpoint-data (a heartbeat
 * frame does not count: the next follows at once); after its last frame
 * it half-closes. On an error or bye from the side, or once it has sent
 * everything, the peer half-closes and reads until the side's EOF; then
 * SIGTERM ends the side (through its own handler, as a user would).
 * Heartbeats are slow enough (FUZZ_COLO_HEARTBEAT_MS) that none is due
 * during one input: silence never decides anything.
 *
 * With LOCKSTEP_FUZZ_QUIET set (run-fuzzers sets it), the sides' event
 * lines on stderr go to /dev/null while they run; replaying an input
 * (replay-*, or the fuzz binary on one file) shows them.
 */
#ifndef LS_FUZZ_COLO_PEER_H
#define LS_FUZZ_COLO_PEER_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_COLO_HEARTBEAT_MS 60000

typedef enum FuzzColoSide {
    FUZZ_COLO_RUN_SECONDARY, /* the input is the primary's bytes */
    FUZZ_COLO_RUN_PRIMARY,   /* the input is the secondary's bytes */
} FuzzColoSide;

/* Runs `side` against the peer played from data[0..size). */
void fuzz_colo_play(FuzzColoSide side, const uint8_t *data, size_t size);

#endif
