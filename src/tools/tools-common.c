/*
 * Shared by dump, diff and check: read a stream (and a schema) and decode.
 */
#include "tools.h"

VmsDecoded *tools_decode_file(const char *path, const char *schema_path,
                              GByteArray **buf, json_t **vmdesc, GError **errp)
{
    *buf = NULL;
    *vmdesc = NULL;
    if (schema_path) {
        *vmdesc = vms_vmdesc_read(schema_path, errp);
        if (!*vmdesc) {
            return NULL;
        }
    }
    if (!vms_read_file(path, buf, errp)) {
        return NULL;
    }
    VmsDecoded *d = vms_decode((*buf)->data, (*buf)->len, *vmdesc, errp);
    if (!d) {
        g_prefix_error(errp, "%s: ", path);
    }
    return d;
}
