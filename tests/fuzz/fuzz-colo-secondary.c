/*
 * Fuzz target for the coordinator's wire protocol as the secondary side
 * sees it, before and after the handshake: the input is what a primary
 * sends (see colo-peer.h for its layout), played against the real
 * secondary side (colo_secondary_run: its listener, connection, hello
 * check, checkpoint state machine, failover) with a fake dm. A crash, an
 * abort, a hang (the fuzzer's -timeout) or a sanitizer report is the
 * failure.
 */
#include <stddef.h>
#include <stdint.h>

#include "colo-peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_colo_play(FUZZ_COLO_RUN_SECONDARY, data, size);
    return 0;
}
