/*
 * The stream reader and the transactional load. Every read is bounds
 * checked against the in-memory stream; counts come from the staging copy
 * and are capped by the array capacity; nothing is allocated from a length
 * found in the stream. Sections decode into staging copies; only when the
 * whole stream (through EOF, with nothing after it) is good are the copies
 * committed and post_commit run.
 *
 * Decisions where QEMU is loose (documented in vms.h as well):
 * - a subsection's be32 version is compared in full against the
 *   subsection's [minimum_version_id, version_id]; QEMU keeps only its low
 *   8 bits. For every real stream (versions < 256) the two agree.
 * - an instance id of 0xFFFFFFFF does not match an unset alias (QEMU's
 *   int/uint comparison quirk).
 * - a second section for an already loaded device is an error.
 * Leaves out: compat (bus-path) idstr matching, legacy load handlers.
 */
#include "vms/vms-internal.h"
#include "base/error.h"

#include <stdarg.h>
#include <string.h>

typedef struct VmsLoader {
    VmsRegistry *reg;
    const VmsLoadOpts *opts;
    const uint8_t *buf;
    size_t len;
    size_t pos;
    char idstr[256]; /* section being read; "" between sections */
    uint32_t instance;
    size_t sec_off;
    GString *path;         /* struct/subsection prefix inside the section */
    const VmsField *field; /* field being read, NULL between fields */
    int index;             /* its element index, -1 when not an array */
    void **staging;        /* per registered section; NULL: not in stream */
    int *version;          /* stream version of each staged section */
    size_t *seen_at;       /* stream offset of each staged section */
    int footers;           /* -1 undecided, 0 no, 1 yes */
    const VmsDesc *top;    /* description of the section being read */
    int cur;               /* its registry index */
    GArray *bulk;          /* VmsBulk: bulk buffers, copied at commit */
} VmsLoader;

/* A bulk buffer field as read: `size` bytes at stream offset `pos` go to
   offset `off` of section `idx`'s live state at commit. */
typedef struct VmsBulk {
    unsigned idx;
    size_t off;
    size_t pos;
    size_t size;
} VmsBulk;

/*
 * Bulk buffers are top-level VMS_BUFFER fields of VMS_BULK_BUFFER_MIN bytes
 * or more: raw bytes, identical in the stream and in the state, so the
 * stream itself is their staging copy. They are neither copied into
 * staging nor from it: a load moves them once, stream to live, at commit
 * (a 16 MiB buffer loaded in one memcpy instead of three).
 */
static bool vms_field_is_bulk(const VmsField *f)
{
    return f->type == VMS_BUFFER && f->num <= 1 &&
           f->count_type == VMS_COUNT_NONE && !f->field_exists &&
           f->size >= VMS_BULK_BUFFER_MIN;
}

static bool vms_desc_has_bulk(const VmsDesc *d)
{
    for (const VmsField *f = d->fields; f && f->name; f++) {
        if (vms_field_is_bulk(f)) {
            return true;
        }
    }
    return false;
}

/* Copies `size` bytes of state from `src` to `dst` except the bulk buffer
   fields of `d`. */
static void vms_copy_except_bulk(uint8_t *dst, const uint8_t *src, size_t size,
                                 const VmsDesc *d)
{
    size_t at = 0;

    while (at < size) {
        size_t next = size, skip = 0;
        for (const VmsField *f = d->fields; f && f->name; f++) {
            if (vms_field_is_bulk(f) && f->offset >= at && f->offset < next) {
                next = f->offset;
                skip = f->size;
            }
        }
        memcpy(dst + at, src + at, next - at);
        at = next + skip;
    }
}

static void G_GNUC_PRINTF(4, 5) vms_ld_fail(const VmsLoader *l, size_t off,
                                            GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autoptr(GString) path = g_string_new(l->path->str);
    if (l->field) {
        g_string_append(path, l->field->name);
        if (l->index >= 0) {
            g_string_append_printf(path, "[%d]", l->index);
        }
    } else if (path->len && path->str[path->len - 1] == '/') {
        g_string_truncate(path, path->len - 1);
    }
    if (!l->idstr[0]) {
        ls_error_set(errp, "offset 0x%zx: %s", off, why);
    } else if (path->len) {
        ls_error_set(errp,
                     "section '%s' instance %u (offset 0x%zx): "
                     "field '%s' (offset 0x%zx): %s",
                     l->idstr, l->instance, l->sec_off, path->str, off, why);
    } else {
        ls_error_set(errp, "section '%s' instance %u (offset 0x%zx): %s",
                     l->idstr, l->instance, off, why);
    }
}

static bool vms_ld_need(const VmsLoader *l, size_t n, GError **errp)
{
    if (n > l->len - l->pos) {
        vms_ld_fail(l, l->pos, errp,
                    "stream truncated: %zu bytes needed, "
                    "%zu left",
                    n, l->len - l->pos);
        return false;
    }
    return true;
}

static uint64_t vms_ld_uint(const uint8_t *p, size_t w)
{
    switch (w) {
    case 1:
        return p[0];
    case 2:
        return vms_get_be16(p);
    case 4:
        return vms_get_be32(p);
    default:
        return vms_get_be64(p);
    }
}

static uint64_t vms_mem_uint(const uint8_t *elem, size_t w)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (w) {
    case 1:
        memcpy(&u8, elem, 1);
        return u8;
    case 2:
        memcpy(&u16, elem, 2);
        return u16;
    case 4:
        memcpy(&u32, elem, 4);
        return u32;
    default:
        memcpy(&u64, elem, 8);
        return u64;
    }
}

static void vms_mem_store(uint8_t *elem, size_t w, uint64_t v)
{
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;

    switch (w) {
    case 1:
        memcpy(elem, &u8, 1);
        break;
    case 2:
        memcpy(elem, &u16, 2);
        break;
    case 4:
        memcpy(elem, &u32, 4);
        break;
    default:
        memcpy(elem, &v, 8);
        break;
    }
}

static bool vms_load_scalar(VmsLoader *l, const VmsField *f, uint8_t *elem,
                            GError **errp)
{
    size_t w = vms_wire_size(f);
    size_t at = l->pos;

    if (!vms_ld_need(l, w, errp)) {
        return false;
    }
    uint64_t v = vms_ld_uint(l->buf + at, w);
    uint64_t cur;
    l->pos += w;
    switch (f->type) {
    case VMS_INT32_EQUAL:
    case VMS_UINT8_EQUAL:
    case VMS_UINT16_EQUAL:
    case VMS_UINT32_EQUAL:
    case VMS_UINT64_EQUAL:
        cur = vms_mem_uint(elem, w);
        if (v != cur) {
            vms_ld_fail(l, at, errp,
                        "%" G_GINT64_MODIFIER "x != %" G_GINT64_MODIFIER "x", v,
                        cur);
            return false;
        }
        return true;
    case VMS_INT32_LE:
        cur = vms_mem_uint(elem, w);
        if ((int32_t)v < 0 || (int32_t)v > (int32_t)cur) {
            vms_ld_fail(l, at, errp,
                        "Invalid value %d expecting positive "
                        "value <= %d",
                        (int32_t)v, (int32_t)cur);
            return false;
        }
        break;
    case VMS_BOOL:
        v = v != 0;
        break;
    default:
        break;
    }
    vms_mem_store(elem, w, v);
    return true;
}

static bool vms_load_desc(VmsLoader *l, const VmsDesc *d, void *state,
                          int version, unsigned depth, GError **errp);

static bool vms_load_elem(VmsLoader *l, const VmsField *f, uint8_t *elem,
                          unsigned depth, GError **errp)
{
    if (f->type == VMS_STRUCT) {
        size_t mark = l->path->len;
        g_string_append(l->path, f->name);
        if (l->index >= 0) {
            g_string_append_printf(l->path, "[%d]", l->index);
        }
        g_string_append_c(l->path, '/');
        l->field = NULL;
        if (!vms_load_desc(l, f->vmsd, elem, f->vmsd->version_id, depth + 1,
                           errp)) {
            return false;
        }
        g_string_truncate(l->path, mark);
        return true;
    }
    if (f->type == VMS_BUFFER) {
        if (!vms_ld_need(l, f->size, errp)) {
            return false;
        }
        if (depth == 0 && vms_field_is_bulk(f) && f >= l->top->fields) {
            VmsBulk b = {(unsigned)l->cur,
                         (size_t)(elem - (uint8_t *)l->staging[l->cur]), l->pos,
                         f->size};
            g_array_append_val(l->bulk, b);
        } else {
            memcpy(elem, l->buf + l->pos, f->size);
        }
        l->pos += f->size;
        return true;
    }
    return vms_load_scalar(l, f, elem, errp);
}

static bool vms_load_field(VmsLoader *l, const VmsField *f, void *state,
                           unsigned depth, GError **errp)
{
    unsigned n;
    g_autoptr(GError) err = NULL;

    l->field = f;
    l->index = -1;
    if (f->type == VMS_UNUSED) {
        if (!vms_ld_need(l, f->size, errp)) {
            return false;
        }
        l->pos += f->size;
        return true;
    }
    if (!vms_field_count(f, state, &n, &err)) {
        vms_ld_fail(l, l->pos, errp, "%s", err->message);
        return false;
    }
    bool indexed = n > 1 || f->count_type != VMS_COUNT_NONE;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *elem = (uint8_t *)state + f->offset + (size_t)i * f->size;
        l->field = f;
        l->index = indexed ? (int)i : -1;
        if (!vms_load_elem(l, f, elem, depth, errp)) {
            return false;
        }
    }
    return true;
}

static const VmsDesc *vms_find_sub(const VmsDesc *d, const uint8_t *name,
                                   size_t n)
{
    for (const VmsDesc *const *s = d->subsections; s && *s; s++) {
        if (strlen((*s)->name) == n && memcmp((*s)->name, name, n) == 0) {
            return *s;
        }
    }
    return NULL;
}

/*
 * Path of a subsection's fields: the subsection name already starts with
 * its parent's, so "serial/recv_fifo" + "/head", not "serial/serial/...".
 */
static void vms_ld_path_sub(VmsLoader *l, const VmsDesc *d, const VmsDesc *sub)
{
    size_t n = strlen(d->name);

    if (l->path->len > n && l->path->str[l->path->len - 1] == '/' &&
        l->path->len - 1 >= n &&
        memcmp(l->path->str + l->path->len - 1 - n, d->name, n) == 0 &&
        (l->path->len - 1 == n || l->path->str[l->path->len - 2 - n] == '/')) {
        g_string_truncate(l->path, l->path->len - 1 - n);
    }
    g_string_append(l->path, sub->name);
}

static bool vms_load_one_sub(VmsLoader *l, const VmsDesc *d, void *state,
                             unsigned depth, GError **errp)
{
    size_t at = l->pos;
    size_t n = l->buf[at + 1];
    const VmsDesc *sub = vms_find_sub(d, l->buf + at + 2, n);

    if (!sub) {
        vms_ld_fail(l, at, errp,
                    "VM subsection '%.*s' in '%s' does not "
                    "exist",
                    (int)n, (const char *)l->buf + at + 2, d->name);
        return false;
    }
    l->pos += 2 + n;
    size_t mark = l->path->len;
    vms_ld_path_sub(l, d, sub);
    if (!vms_ld_need(l, 4, errp)) {
        return false;
    }
    uint32_t v = vms_get_be32(l->buf + l->pos);
    if (v > (uint32_t)sub->version_id ||
        v < (uint32_t)sub->minimum_version_id) {
        vms_ld_fail(l, l->pos, errp,
                    "unsupported subsection version %u "
                    "(accepted %d..%d)",
                    v, sub->minimum_version_id, sub->version_id);
        return false;
    }
    l->pos += 4;
    g_string_append_c(l->path, '/');
    bool ok = vms_load_desc(l, sub, state, (int)v, depth + 1, errp);
    g_string_truncate(l->path, mark);
    return ok;
}

/* QEMU's peek rules: marker, a long enough name, prefixed by the parent. */
static bool vms_load_subsections(VmsLoader *l, const VmsDesc *d, void *state,
                                 unsigned depth, GError **errp)
{
    size_t plen = strlen(d->name);

    while (l->len - l->pos >= 2 && l->buf[l->pos] == VMS_SECTION_SUB) {
        size_t n = l->buf[l->pos + 1];
        if (n < plen + 1 || l->len - l->pos - 2 < n ||
            memcmp(l->buf + l->pos + 2, d->name, plen) != 0) {
            break;
        }
        if (!vms_load_one_sub(l, d, state, depth, errp)) {
            return false;
        }
    }
    return true;
}

static bool vms_load_desc(VmsLoader *l, const VmsDesc *d, void *state,
                          int version, unsigned depth, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (depth > VMS_MAX_NESTING) {
        vms_ld_fail(l, l->pos, errp, "nesting deeper than %d", VMS_MAX_NESTING);
        return false;
    }
    if (d->pre_load) {
        d->pre_load(state);
    }
    for (const VmsField *f = d->fields; f && f->name; f++) {
        if (vms_field_present(f, state, version) &&
            !vms_load_field(l, f, state, depth, errp)) {
            return false;
        }
    }
    l->field = NULL;
    if (!vms_load_subsections(l, d, state, depth, errp)) {
        return false;
    }
    if (d->post_load && !d->post_load(state, version, &err)) {
        vms_ld_fail(l, l->pos, errp, "%s",
                    err ? err->message : "post_load failed");
        return false;
    }
    return true;
}

static int vms_ld_lookup(const VmsLoader *l)
{
    return vms_registry_find(l->reg, l->idstr, l->instance);
}

static bool vms_ld_footer(VmsLoader *l, uint32_t sid, GError **errp)
{
    if (l->footers < 0) {
        l->footers = l->pos < l->len && l->buf[l->pos] == VMS_SECTION_FOOTER;
    }
    if (!l->footers) {
        return true;
    }
    if (l->pos < l->len && l->buf[l->pos] != VMS_SECTION_FOOTER) {
        vms_ld_fail(l, l->pos, errp,
                    "Missing section footer for %s "
                    "(found byte 0x%02x)",
                    l->idstr, l->buf[l->pos]);
        return false;
    }
    if (!vms_ld_need(l, 5, errp)) {
        return false;
    }
    uint32_t got = vms_get_be32(l->buf + l->pos + 1);
    if (got != sid) {
        vms_ld_fail(l, l->pos, errp,
                    "Mismatched section id in footer for "
                    "%s - read 0x%x expected 0x%x",
                    l->idstr, got, sid);
        return false;
    }
    l->pos += 5;
    return true;
}

static bool vms_ld_skip(VmsLoader *l, uint32_t sid, GError **errp)
{
    size_t footer;

    if (l->footers == 0) {
        vms_ld_fail(l, l->pos, errp,
                    "cannot skip unknown section: the "
                    "stream has no section footers to find its end");
        return false;
    }
    if (!vms_find_footer(l->buf, l->len, l->pos, sid, &footer)) {
        vms_ld_fail(l, l->pos, errp,
                    "cannot skip unknown section: no "
                    "footer with section id 0x%x follows",
                    sid);
        return false;
    }
    l->footers = 1;
    l->pos = footer + 5;
    return true;
}

static bool vms_ld_unknown(VmsLoader *l, uint32_t sid, GError **errp)
{
    if (l->opts && l->opts->unknown == VMS_UNKNOWN_SKIP) {
        return vms_ld_skip(l, sid, errp);
    }
    vms_ld_fail(l, l->sec_off, errp,
                "Unknown savevm section or instance "
                "'%s' %d. Make sure that your current VM setup matches your "
                "saved VM setup, including any hotplugged devices",
                l->idstr, (int)l->instance);
    return false;
}

static bool vms_ld_check_version(VmsLoader *l, const VmsDesc *d, int idx,
                                 uint32_t v, size_t at, GError **errp)
{
    if (l->staging[idx]) {
        vms_ld_fail(l, l->sec_off, errp,
                    "duplicate section: already "
                    "loaded from offset 0x%zx",
                    l->seen_at[idx]);
        return false;
    }
    if (v > (uint32_t)d->version_id) {
        vms_ld_fail(l, at, errp,
                    "savevm: unsupported version %d for '%s' "
                    "v%d",
                    (int)v, l->idstr, d->version_id);
        return false;
    }
    if ((int)v < d->minimum_version_id) {
        vms_ld_fail(l, at, errp,
                    "%s: incoming version_id %d is too old for "
                    "local minimum version_id %d",
                    d->name, (int)v, d->minimum_version_id);
        return false;
    }
    return true;
}

/* Reads a FULL section header; l->pos is at the type byte. */
static bool vms_ld_header(VmsLoader *l, uint32_t *sid, uint32_t *ver,
                          GError **errp)
{
    l->sec_off = l->pos++;
    if (!vms_ld_need(l, 5, errp)) {
        return false;
    }
    *sid = vms_get_be32(l->buf + l->pos);
    size_t n = l->buf[l->pos + 4];
    if (n == 0) {
        vms_ld_fail(l, l->pos + 4, errp,
                    "Unable to read ID string for "
                    "section %u",
                    *sid);
        return false;
    }
    l->pos += 5;
    if (!vms_ld_need(l, n + 8, errp)) {
        return false;
    }
    memcpy(l->idstr, l->buf + l->pos, n);
    l->idstr[n] = 0;
    l->pos += n;
    l->instance = vms_get_be32(l->buf + l->pos);
    *ver = vms_get_be32(l->buf + l->pos + 4);
    l->pos += 8;
    return true;
}

static bool vms_ld_section(VmsLoader *l, GError **errp)
{
    uint32_t sid, ver;

    if (!vms_ld_header(l, &sid, &ver, errp)) {
        return false;
    }
    int idx = vms_ld_lookup(l);
    if (idx < 0) {
        return vms_ld_unknown(l, sid, errp);
    }
    const VmsSection *s = vms_section_at(l->reg, (unsigned)idx);
    if (!vms_ld_check_version(l, s->vmsd, idx, ver, l->pos - 4, errp)) {
        return false;
    }
    if (vms_desc_has_bulk(s->vmsd)) {
        /* Zeroed pages cost nothing until touched: bulk ranges stay so. */
        l->staging[idx] = g_malloc0(s->state_size);
        vms_copy_except_bulk(l->staging[idx], s->state, s->state_size, s->vmsd);
    } else {
        l->staging[idx] = g_memdup2(s->state, s->state_size);
    }
    l->top = s->vmsd;
    l->cur = idx;
    l->version[idx] = (int)ver;
    l->seen_at[idx] = l->sec_off;
    g_string_truncate(l->path, 0);
    l->field = NULL;
    if (!vms_load_desc(l, s->vmsd, l->staging[idx], (int)ver, 0, errp)) {
        return false;
    }
    g_string_truncate(l->path, 0);
    return vms_ld_footer(l, sid, errp);
}

static bool vms_ld_file_header(VmsLoader *l, GError **errp)
{
    if (l->len < 4 || vms_get_be32(l->buf) != VMS_FILE_MAGIC) {
        vms_ld_fail(l, 0, errp, "Not a migration stream");
        return false;
    }
    if (l->len < 8) {
        vms_ld_fail(l, 4, errp, "stream truncated: no version");
        return false;
    }
    uint32_t v = vms_get_be32(l->buf + 4);
    if (v == VMS_FILE_VERSION_V2) {
        vms_ld_fail(l, 4, errp,
                    "SaveVM v2 format is obsolete and don't "
                    "work anymore");
        return false;
    }
    if (v != VMS_FILE_VERSION) {
        vms_ld_fail(l, 4, errp, "Unsupported migration stream version");
        return false;
    }
    l->pos = 8;
    return true;
}

static const char *vms_ld_type_hint(uint8_t t)
{
    switch (t) {
    case VMS_SECTION_START:
    case VMS_SECTION_PART:
    case VMS_SECTION_END:
        return " (a START/PART/END section of an iterative device: a full "
               "migration stream, not a device-state file)";
    case VMS_SECTION_CONFIG:
        return " (a configuration section: a full migration stream, not a "
               "device-state file)";
    case VMS_SECTION_COMMAND:
        return " (a migration command: a full migration stream, not a "
               "device-state file)";
    case VMS_SECTION_VMDESC:
        return " (a vmdesc trailer before EOF)";
    case VMS_SECTION_FOOTER:
        return " (a section footer in a stream without footers)";
    case VMS_SECTION_SUB:
        return " (a subsection not claimed by the previous section)";
    default:
        return "";
    }
}

static bool vms_ld_stream(VmsLoader *l, GError **errp)
{
    unsigned nsec = 0;

    if (!vms_ld_file_header(l, errp)) {
        return false;
    }
    for (;;) {
        l->idstr[0] = 0;
        if (l->pos >= l->len) {
            vms_ld_fail(l, l->pos, errp, "stream truncated: no EOF marker");
            return false;
        }
        uint8_t t = l->buf[l->pos];
        if (t == VMS_SECTION_EOF) {
            break;
        }
        if (t != VMS_SECTION_FULL) {
            vms_ld_fail(l, l->pos, errp, "Unknown savevm section type %d%s", t,
                        vms_ld_type_hint(t));
            return false;
        }
        if (++nsec > VMS_MAX_SECTIONS) {
            vms_ld_fail(l, l->pos, errp, "more than %d sections",
                        VMS_MAX_SECTIONS);
            return false;
        }
        if (!vms_ld_section(l, errp)) {
            return false;
        }
    }
    if (l->pos + 1 != l->len) {
        vms_ld_fail(l, l->pos + 1, errp, "%zu trailing bytes after EOF",
                    l->len - l->pos - 1);
        return false;
    }
    return true;
}

static void vms_ld_commit(VmsLoader *l)
{
    unsigned n = l->reg->sections->len;

    for (unsigned i = 0; i < n; i++) {
        VmsSection *s = vms_section_at(l->reg, i);
        if (l->staging[i] && vms_desc_has_bulk(s->vmsd)) {
            vms_copy_except_bulk(s->state, l->staging[i], s->state_size,
                                 s->vmsd);
        } else if (l->staging[i]) {
            memcpy(s->state, l->staging[i], s->state_size);
        }
    }
    for (guint i = 0; i < l->bulk->len; i++) {
        const VmsBulk *b = &g_array_index(l->bulk, VmsBulk, i);
        VmsSection *s = vms_section_at(l->reg, b->idx);
        memcpy((uint8_t *)s->state + b->off, l->buf + b->pos, b->size);
    }
    for (unsigned i = 0; i < n; i++) {
        VmsSection *s = vms_section_at(l->reg, i);
        if (l->staging[i] && s->vmsd->post_commit) {
            s->vmsd->post_commit(s->state, l->version[i]);
        }
    }
}

bool vms_load_all(VmsRegistry *reg, const uint8_t *buf, size_t len,
                  const VmsLoadOpts *opts, GError **errp)
{
    unsigned n = reg->sections->len;
    VmsLoader l = {
        .reg = reg,
        .opts = opts,
        .buf = buf,
        .len = len,
        .footers = -1,
    };

    if (len > VMS_MAX_STREAM_SIZE) {
        ls_error_set(errp, "stream of %zu bytes exceeds the %u byte cap", len,
                     VMS_MAX_STREAM_SIZE);
        return false;
    }
    l.path = g_string_new(NULL);
    l.staging = g_new0(void *, n + 1);
    l.version = g_new0(int, n + 1);
    l.seen_at = g_new0(size_t, n + 1);
    l.bulk = g_array_new(FALSE, FALSE, sizeof(VmsBulk));
    bool ok = vms_ld_stream(&l, errp);
    if (ok) {
        vms_ld_commit(&l);
    }
    for (unsigned i = 0; i < n; i++) {
        g_free(l.staging[i]);
    }
    g_free(l.staging);
    g_free(l.version);
    g_free(l.seen_at);
    g_array_free(l.bulk, TRUE);
    g_string_free(l.path, TRUE);
    return ok;
}
