/*
 * Fuzz target for the coordinator's wire protocol as the primary side
 * sees it, before and after the handshake: the input is what a secondary
 * answers (see colo-peer.h for its layout and when each frame is sent),
 * played against the real primary side (colo_primary_run: its
 * connection, hello check, checkpoints every 1 ms, the ack handling) with
 * a fake dm. A crash, an abort, a hang (the fuzzer's -timeout) or a
 * sanitizer report is the failure.
 */
#include <stddef.h>
#include <stdint.h>

#include "colo-peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_colo_play(FUZZ_COLO_RUN_PRIMARY, data, size);
    return 0;
}
