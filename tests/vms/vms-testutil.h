/*
 * Helpers for the vms tests: build expected byte strings from a readable
 * spec ("04 0000000a 05 \"i8259\" ..."; hex digits in pairs, quoted ASCII)
 * and compare byte arrays with a useful failure message.
 */
#ifndef LS_TESTS_VMS_TESTUTIL_H
#define LS_TESTS_VMS_TESTUTIL_H

#include <glib.h>
#include <string.h>

static inline GByteArray *tu_bytes(const char *spec)
{
    GByteArray *a = g_byte_array_new();

    for (const char *p = spec; *p;) {
        if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            g_assert(e);
            g_byte_array_append(a, (const guint8 *)p + 1, (guint)(e - p - 1));
            p = e + 1;
        } else if (g_ascii_isxdigit(*p)) {
            g_assert(g_ascii_isxdigit(p[1]));
            guint8 b = (guint8)(g_ascii_xdigit_value(p[0]) << 4 |
                                g_ascii_xdigit_value(p[1]));
            g_byte_array_append(a, &b, 1);
            p += 2;
        } else {
            p++;
        }
    }
    return a;
}

static inline void tu_assert_bytes(const GByteArray *got, const char *spec)
{
    g_autoptr(GByteArray) want = tu_bytes(spec);

    for (guint i = 0; i < MAX(got->len, want->len); i++) {
        if (i >= got->len || i >= want->len || got->data[i] != want->data[i]) {
            g_autofree char *g = i < got->len
                                     ? g_strdup_printf("0x%02x", got->data[i])
                                     : g_strdup("end");
            g_autofree char *w = i < want->len
                                     ? g_strdup_printf("0x%02x", want->data[i])
                                     : g_strdup("end");
            g_error("byte %u: got %s, want %s (lengths %u/%u)", i, g, w,
                    got->len, want->len);
        }
    }
}

#endif
