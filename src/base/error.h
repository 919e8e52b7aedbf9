/*
 * lockstep error domain.
 *
 * Every fallible function takes `GError **errp` last and returns bool (or a
 * pointer), and callers test the return value, not *errp. The error codes
 * are QMP's error classes, so an error can travel from a device up to the
 * QMP dispatcher unchanged; the dispatcher is the only place that turns one
 * into JSON (ls_error_class_name gives the class string).
 */
#ifndef LS_BASE_ERROR_H
#define LS_BASE_ERROR_H

#include <glib.h>

#define LS_ERROR ls_error_quark()
/* The domain's name, as g_quark_to_string(LS_ERROR) gives it. */
#define LS_ERROR_QUARK_NAME "lockstep-error-quark"

typedef enum {
    LS_ERROR_GENERIC = 0,       /* "GenericError" */
    LS_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
    LS_ERROR_DEVICE_NOT_ACTIVE, /* "DeviceNotActive" */
    LS_ERROR_DEVICE_NOT_FOUND,  /* "DeviceNotFound" */
    LS_ERROR_KVM_MISSING_CAP,   /* "KVMMissingCap" */
} LsErrorCode;

GQuark ls_error_quark(void);

/* QMP class name of an error; "GenericError" for foreign domains. */
const char *ls_error_class_name(const GError *err);

/* The LsErrorCode of a QMP class name (a reply's "class"); GenericError
   for NULL or a class this table does not know. */
int ls_error_code_from_class(const char *cls);

/* Shorthand for the common case: a GenericError with a formatted message. */
#define ls_error_set(errp, ...)                                                \
    g_set_error((errp), LS_ERROR, LS_ERROR_GENERIC, __VA_ARGS__)

#endif
