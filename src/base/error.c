/* lockstep error domain: QMP error classes as GError codes. */
#include "base/error.h"

G_DEFINE_QUARK(lockstep - error - quark, ls_error)

const char *ls_error_class_name(const GError *err)
{
    static const char *const names[] = {
        [LS_ERROR_GENERIC] = "GenericError",
        [LS_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
        [LS_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [LS_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [LS_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
    };

    if (err && err->domain == LS_ERROR && err->code >= 0 &&
        (size_t)err->code < G_N_ELEMENTS(names)) {
        return names[err->code];
    }
    return "GenericError";
}
