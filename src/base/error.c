/* lockstep error domain: QMP error classes as GError codes. */
#include "base/error.h"

#include <string.h>

/* The one table of QMP class names, indexed by LsErrorCode. */
static const char *const ls_error_class_names[] = {
    [LS_ERROR_GENERIC] = "GenericError",
    [LS_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [LS_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [LS_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [LS_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

/* Written out rather than with G_DEFINE_QUARK, whose bare-token argument
   clang-format splits into "lockstep - error - quark". */
GQuark ls_error_quark(void)
{
    return g_quark_from_static_string(LS_ERROR_QUARK_NAME);
}

const char *ls_error_class_name(const GError *err)
{
    if (err && err->domain == LS_ERROR && err->code >= 0 &&
        (size_t)err->code < G_N_ELEMENTS(ls_error_class_names)) {
        return ls_error_class_names[err->code];
    }
    return "GenericError";
}

int ls_error_code_from_class(const char *cls)
{
    for (size_t i = 0; cls && i < G_N_ELEMENTS(ls_error_class_names); i++) {
        if (!strcmp(cls, ls_error_class_names[i])) {
            return (int)i;
        }
    }
    return LS_ERROR_GENERIC;
}
