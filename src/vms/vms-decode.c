/*
 * The generic, vmdesc-driven decoder (see decode.h). Reads only through
 * bounds-checked helpers; sizes and counts from the JSON are checked
 * against what is left of the stream before use, so a hostile vmdesc
 * cannot make it read out of bounds. What it allocates is bounded by
 * VMS_MAX_DECODE_NODES: nodes are counted over the whole stream, and an
 * array element that takes no bytes is a schema error (without that,
 * nested arrays of empty elements multiply without consuming input).
 */
#include "vms/decode.h"
#include "vms/vms-internal.h"
#include "base/error.h"

#include <stdarg.h>
#include <string.h>

typedef struct VmsDec {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    VmsDecSection *sec;
    unsigned nodes; /* allocated so far, against VMS_MAX_DECODE_NODES */
    GError *fatal;  /* a schema error: the whole decode fails */
} VmsDec;

static void vms_dec_node_free(gpointer p)
{
    VmsDecNode *n = p;

    if (!n) {
        return;
    }
    g_free(n->name);
    g_free(n->type);
    if (n->children) {
        g_ptr_array_free(n->children, TRUE);
    }
    g_free(n);
}

/* A schema error: fails this section (*errp) and the whole decode. */
static void G_GNUC_PRINTF(3, 4)
    vms_dec_fail(VmsDec *c, GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!c->fatal) {
        ls_error_set(&c->fatal, "%s", msg);
    }
    ls_error_set(errp, "%s", msg);
}

/* NULL with *errp (and c->fatal) set once the node cap is reached. */
static VmsDecNode *vms_dec_node_new(VmsDec *c, const char *name,
                                    const char *type, bool parent,
                                    GError **errp)
{
    if (c->nodes >= VMS_MAX_DECODE_NODES) {
        vms_dec_fail(c, errp,
                     "offset 0x%zx: field '%s': the vmdesc describes more "
                     "than %u fields",
                     c->pos, name, VMS_MAX_DECODE_NODES);
        return NULL;
    }
    c->nodes++;
    VmsDecNode *n = g_new0(VmsDecNode, 1);

    n->name = g_strdup(name);
    n->type = g_strdup(type ? type : "unknown");
    n->offset = c->pos;
    n->data = c->buf + c->pos;
    if (parent) {
        n->children = g_ptr_array_new_with_free_func(vms_dec_node_free);
    }
    return n;
}

static bool vms_dec_need(VmsDec *c, size_t n, GError **errp)
{
    if (n > c->len - c->pos) {
        ls_error_set(errp,
                     "offset 0x%zx: stream truncated: %zu bytes "
                     "needed, %zu left",
                     c->pos, n, c->len - c->pos);
        return false;
    }
    return true;
}

static bool vms_dec_obj(VmsDec *c, json_t *desc, VmsDecNode *parent,
                        unsigned depth, GError **errp);

static json_t *vms_dec_nested(json_t *f)
{
    json_t *st = json_object_get(f, "struct");

    if (json_is_object(st)) {
        return st;
    }
    return json_is_array(json_object_get(f, "fields")) ? f : NULL;
}

/* One field, or one element of an array field (`in_array`). */
static bool vms_dec_elem(VmsDec *c, json_t *f, const char *name,
                         VmsDecNode *parent, unsigned depth, bool in_array,
                         GError **errp)
{
    const char *type = json_string_value(json_object_get(f, "type"));
    json_t *nested = vms_dec_nested(f);
    json_int_t size = json_integer_value(json_object_get(f, "size"));
    VmsDecNode *n = vms_dec_node_new(c, name, type, nested != NULL, errp);

    if (!n) {
        return false;
    }
    g_ptr_array_add(parent->children, n);
    if (nested) {
        n->version =
            (uint32_t)json_integer_value(json_object_get(nested, "version"));
        if (!vms_dec_obj(c, nested, n, depth + 1, errp)) {
            return false;
        }
    } else {
        if (size < 0 || !vms_dec_need(c, (size_t)size, errp)) {
            g_prefix_error(errp, "field '%s': ", name);
            return false;
        }
        c->pos += (size_t)size;
    }
    n->size = c->pos - n->offset;
    if (in_array && n->size == 0) {
        vms_dec_fail(c, errp,
                     "offset 0x%zx: field '%s': an array element of zero "
                     "bytes in the vmdesc",
                     n->offset, name);
        return false;
    }
    return true;
}

/* array_len, when present, must be an integer of at least one (QEMU
   writes it only for arrays of more than one element): anything else is a
   schema error, not an array of one. */
static bool vms_dec_array_len(VmsDec *c, json_t *f, const char *name,
                              GError **errp)
{
    json_t *alen = json_object_get(f, "array_len");

    if (!alen || (json_is_integer(alen) && json_integer_value(alen) > 0)) {
        return true;
    }
    g_autofree char *v = json_dumps(alen, JSON_ENCODE_ANY);
    vms_dec_fail(c, errp,
                 "offset 0x%zx: field '%s': array_len %s in the vmdesc is "
                 "not a positive integer",
                 c->pos, name, v ? v : "?");
    return false;
}

static bool vms_dec_field(VmsDec *c, json_t *f, VmsDecNode *parent,
                          unsigned depth, GError **errp)
{
    const char *name = json_string_value(json_object_get(f, "name"));
    json_int_t alen = json_integer_value(json_object_get(f, "array_len"));
    json_int_t idx = json_integer_value(json_object_get(f, "index"));
    json_t *has_idx = json_object_get(f, "index");

    if (!name) {
        ls_error_set(errp, "vmdesc: a field without a name");
        return false;
    }
    if (!vms_dec_array_len(c, f, name, errp)) {
        return false;
    }
    if (alen == 0) {
        g_autofree char *nm =
            has_idx ? g_strdup_printf("%s[%" JSON_INTEGER_FORMAT "]", name, idx)
                    : g_strdup(name);
        return vms_dec_elem(c, f, nm, parent, depth, false, errp);
    }
    if ((size_t)alen > c->len - c->pos) {
        ls_error_set(errp,
                     "offset 0x%zx: field '%s': array of %" JSON_INTEGER_FORMAT
                     " elements exceeds the stream",
                     c->pos, name, alen);
        return false;
    }
    VmsDecNode *arr = vms_dec_node_new(c, name, "array", true, errp);
    if (!arr) {
        return false;
    }
    g_ptr_array_add(parent->children, arr);
    for (json_int_t i = 0; i < alen; i++) {
        g_autofree char *nm =
            g_strdup_printf("%s[%" JSON_INTEGER_FORMAT "]", name, i);
        if (!vms_dec_elem(c, f, nm, arr, depth, true, errp)) {
            return false;
        }
    }
    arr->size = c->pos - arr->offset;
    return true;
}

static json_t *vms_dec_find_sub(json_t *desc, const uint8_t *name, size_t n)
{
    json_t *subs = json_object_get(desc, "subsections");
    size_t i;
    json_t *s;

    json_array_foreach(subs, i, s)
    {
        const char *sn = json_string_value(json_object_get(s, "vmsd_name"));
        if (sn && strlen(sn) == n && memcmp(sn, name, n) == 0) {
            return s;
        }
    }
    return NULL;
}

static bool vms_dec_sub(VmsDec *c, json_t *desc, VmsDecNode *parent,
                        unsigned depth, GError **errp)
{
    size_t n = c->buf[c->pos + 1];
    const uint8_t *name = c->buf + c->pos + 2;
    json_t *sub = vms_dec_find_sub(desc, name, n);

    if (!sub) {
        ls_error_set(errp,
                     "offset 0x%zx: subsection '%.*s' is not in the "
                     "vmdesc",
                     c->pos, (int)n, (const char *)name);
        return false;
    }
    g_autofree char *nm = g_strndup((const char *)name, n);
    VmsDecNode *node = vms_dec_node_new(c, nm, "subsection", true, errp);
    if (!node) {
        return false;
    }
    g_ptr_array_add(parent->children, node);
    c->pos += 2 + n;
    if (!vms_dec_need(c, 4, errp)) {
        return false;
    }
    node->version = vms_get_be32(c->buf + c->pos);
    c->pos += 4;
    bool ok = vms_dec_obj(c, sub, node, depth + 1, errp);
    node->size = c->pos - node->offset;
    return ok;
}

static bool vms_dec_obj(VmsDec *c, json_t *desc, VmsDecNode *parent,
                        unsigned depth, GError **errp)
{
    const char *vname = json_string_value(json_object_get(desc, "vmsd_name"));
    size_t plen = vname ? strlen(vname) : 0;
    size_t i;
    json_t *f;

    if (depth > VMS_MAX_NESTING) {
        ls_error_set(errp, "offset 0x%zx: nesting deeper than %d", c->pos,
                     VMS_MAX_NESTING);
        return false;
    }
    json_array_foreach(json_object_get(desc, "fields"), i, f)
    {
        if (!vms_dec_field(c, f, parent, depth, errp)) {
            return false;
        }
    }
    while (vname && c->len - c->pos >= 2 && c->buf[c->pos] == VMS_SECTION_SUB) {
        size_t n = c->buf[c->pos + 1];
        if (n < plen + 1 || c->len - c->pos - 2 < n ||
            memcmp(c->buf + c->pos + 2, vname, plen) != 0) {
            break;
        }
        if (!vms_dec_sub(c, desc, parent, depth, errp)) {
            return false;
        }
    }
    return true;
}

static json_t *vms_dec_device(json_t *vmdesc, const VmsDecSection *s)
{
    size_t i;
    json_t *d;

    json_array_foreach(json_object_get(vmdesc, "devices"), i, d)
    {
        const char *name = json_string_value(json_object_get(d, "name"));
        json_int_t inst = json_integer_value(json_object_get(d, "instance_id"));
        if (name && strcmp(name, s->idstr) == 0 &&
            (uint32_t)inst == s->instance_id) {
            return d;
        }
    }
    return NULL;
}

static void vms_dec_section_free(gpointer p)
{
    VmsDecSection *s = p;

    g_free(s->idstr);
    g_free(s->problem);
    vms_dec_node_free(s->root);
    g_free(s);
}

void vms_decoded_free(VmsDecoded *d)
{
    if (d) {
        g_ptr_array_free(d->sections, TRUE);
        g_free(d);
    }
}

/*
 * Decodes the payload with the device's vmdesc; sets problem on a
 * mismatch. A schema error (c->fatal) is left for the caller to raise.
 */
static void vms_dec_payload(VmsDec *c, json_t *dev)
{
    VmsDecSection *s = c->sec;
    g_autoptr(GError) err = NULL;
    json_int_t dv = json_integer_value(json_object_get(dev, "version"));

    if ((uint32_t)dv != s->version_id) {
        s->problem = g_strdup_printf("stream has version %u, the vmdesc "
                                     "describes version %" JSON_INTEGER_FORMAT,
                                     s->version_id, dv);
        return;
    }
    s->root = vms_dec_node_new(c, s->idstr, "section", true, &err);
    if (s->root) {
        s->root->version = s->version_id;
    }
    if (!s->root || !vms_dec_obj(c, dev, s->root, 0, &err)) {
        s->problem = g_strdup(err->message);
        vms_dec_node_free(s->root);
        s->root = NULL;
        return;
    }
    s->root->size = c->pos - s->root->offset;
}

static bool vms_dec_header(VmsDec *c, VmsDecSection *s, GError **errp)
{
    s->offset = c->pos++;
    if (!vms_dec_need(c, 5, errp)) {
        return false;
    }
    s->section_id = vms_get_be32(c->buf + c->pos);
    size_t n = c->buf[c->pos + 4];
    c->pos += 5;
    if (n == 0 || !vms_dec_need(c, n + 8, errp)) {
        if (n == 0) {
            ls_error_set(errp,
                         "offset 0x%zx: Unable to read ID string for "
                         "section %u",
                         c->pos - 1, s->section_id);
        }
        return false;
    }
    s->idstr = g_strndup((const char *)c->buf + c->pos, n);
    c->pos += n;
    s->instance_id = vms_get_be32(c->buf + c->pos);
    s->version_id = vms_get_be32(c->buf + c->pos + 4);
    c->pos += 8;
    s->payload_offset = c->pos;
    return true;
}

static bool vms_dec_at_footer(const VmsDec *c, uint32_t sid)
{
    return c->len - c->pos >= 5 && c->buf[c->pos] == VMS_SECTION_FOOTER &&
           vms_get_be32(c->buf + c->pos + 1) == sid;
}

static int vms_dec_detect_footers(VmsDec *c, VmsDecSection *s)
{
    size_t f;

    if (s->root) {
        if (vms_dec_at_footer(c, s->section_id)) {
            return 1;
        }
        if (vms_record_plausible(c->buf, c->len, c->pos)) {
            return 0;
        }
    }
    return vms_find_footer(c->buf, c->len, s->payload_offset, s->section_id, &f)
               ? 1
               : 0;
}

static bool vms_dec_by_footer(VmsDec *c, VmsDecSection *s, GError **errp)
{
    size_t f;

    if (s->root && vms_dec_at_footer(c, s->section_id)) {
        s->decoded = true;
        s->payload_len = c->pos - s->payload_offset;
        c->pos += 5;
        return true;
    }
    if (!vms_find_footer(c->buf, c->len, s->payload_offset, s->section_id,
                         &f)) {
        ls_error_set(errp,
                     "offset 0x%zx: section '%s' instance %u: no "
                     "footer with section id 0x%x",
                     s->payload_offset, s->idstr, s->instance_id,
                     s->section_id);
        return false;
    }
    if (s->root) {
        s->problem = g_strdup_printf("the vmdesc layout ends at offset "
                                     "0x%zx but the footer is at 0x%zx",
                                     c->pos, f);
        s->length_mismatch = true;
        vms_dec_node_free(s->root);
        s->root = NULL;
    }
    s->payload_len = f - s->payload_offset;
    c->pos = f + 5;
    return true;
}

static bool vms_dec_section(VmsDec *c, VmsDecoded *out, json_t *vmdesc,
                            int *footers, GError **errp)
{
    VmsDecSection *s = g_new0(VmsDecSection, 1);

    g_ptr_array_add(out->sections, s);
    c->sec = s;
    if (!vms_dec_header(c, s, errp)) {
        return false;
    }
    json_t *dev = vmdesc ? vms_dec_device(vmdesc, s) : NULL;
    s->described = dev != NULL;
    if (dev) {
        vms_dec_payload(c, dev);
        if (c->fatal) {
            ls_error_set(errp, "section '%s' instance %u: vmdesc: %s", s->idstr,
                         s->instance_id, c->fatal->message);
            return false;
        }
    } else {
        s->problem = g_strdup(vmdesc ? "undescribed: not in the vmdesc"
                                     : "no vmdesc given");
    }
    if (!s->root) {
        c->pos = s->payload_offset;
    }
    if (*footers < 0) {
        *footers = vms_dec_detect_footers(c, s);
    }
    if (*footers) {
        return vms_dec_by_footer(c, s, errp);
    }
    if (!s->root) {
        ls_error_set(errp,
                     "offset 0x%zx: section '%s' instance %u: %s, and "
                     "the stream has no section footers to find its end",
                     s->offset, s->idstr, s->instance_id, s->problem);
        return false;
    }
    s->decoded = true;
    s->payload_len = c->pos - s->payload_offset;
    return true;
}

static bool vms_dec_file_header(VmsDec *c, GError **errp)
{
    if (c->len < 4 || vms_get_be32(c->buf) != VMS_FILE_MAGIC) {
        ls_error_set(errp, "offset 0x0: Not a migration stream");
        return false;
    }
    if (c->len < 8 || vms_get_be32(c->buf + 4) != VMS_FILE_VERSION) {
        ls_error_set(errp, "offset 0x4: Unsupported migration stream "
                           "version");
        return false;
    }
    c->pos = 8;
    return true;
}

static bool vms_dec_stream(VmsDec *c, VmsDecoded *out, json_t *vmdesc,
                           GError **errp)
{
    int footers = -1;

    if (!vms_dec_file_header(c, errp)) {
        return false;
    }
    while (c->pos < c->len && c->buf[c->pos] == VMS_SECTION_FULL) {
        if (out->sections->len >= VMS_MAX_SECTIONS) {
            ls_error_set(errp, "offset 0x%zx: more than %d sections", c->pos,
                         VMS_MAX_SECTIONS);
            return false;
        }
        if (!vms_dec_section(c, out, vmdesc, &footers, errp)) {
            return false;
        }
    }
    out->footers = footers > 0;
    if (c->pos >= c->len) {
        ls_error_set(errp, "offset 0x%zx: stream truncated: no EOF marker",
                     c->pos);
        return false;
    }
    if (c->buf[c->pos] != VMS_SECTION_EOF) {
        ls_error_set(errp, "offset 0x%zx: Unknown savevm section type %d",
                     c->pos, c->buf[c->pos]);
        return false;
    }
    out->eof_offset = c->pos;
    if (c->pos + 1 != c->len) {
        ls_error_set(errp, "offset 0x%zx: %zu trailing bytes after EOF",
                     c->pos + 1, c->len - c->pos - 1);
        return false;
    }
    return true;
}

VmsDecoded *vms_decode(const uint8_t *buf, size_t len, json_t *vmdesc,
                       GError **errp)
{
    VmsDec c = {.buf = buf, .len = len};
    g_autoptr(VmsDecoded) out = g_new0(VmsDecoded, 1);

    out->sections = g_ptr_array_new_with_free_func(vms_dec_section_free);
    out->len = len;
    if (len > VMS_MAX_STREAM_SIZE) {
        ls_error_set(errp, "stream of %zu bytes exceeds the %u byte cap", len,
                     VMS_MAX_STREAM_SIZE);
        return NULL;
    }
    bool ok = vms_dec_stream(&c, out, vmdesc, errp);
    g_clear_error(&c.fatal);
    return ok ? g_steal_pointer(&out) : NULL;
}

json_t *vms_vmdesc_parse(const char *text, size_t len, GError **errp)
{
    json_error_t jerr;

    if (len > VMS_MAX_VMDESC_SIZE) {
        ls_error_set(errp, "vmdesc larger than the %u byte cap",
                     VMS_MAX_VMDESC_SIZE);
        return NULL;
    }
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (!j || !json_is_array(json_object_get(j, "devices"))) {
        ls_error_set(errp, "not a vmdesc JSON (line %d: %s)", jerr.line,
                     j ? "no \"devices\" array" : jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *vms_vmdesc_read(const char *path, GError **errp)
{
    g_autoptr(GByteArray) a = NULL;
    json_t *j;

    if (!vms_read_file(path, &a, errp)) {
        return NULL;
    }
    j = vms_vmdesc_parse((const char *)a->data, a->len, errp);
    if (!j) {
        g_prefix_error(errp, "%s: ", path);
    }
    return j;
}
