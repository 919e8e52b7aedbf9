/*
 * Transactional load: round trip, version gates, subsections, footers,
 * aliases, the unknown-section policies, every stream-level and field-level
 * error with its exact text and offset, and malformed input (truncation at
 * every offset, every byte flipped) against a real QEMU 7.2 pc file and a
 * stream using every construct: each load either succeeds or fails leaving
 * the live state byte-identical.
 */
#include "vms-testdev.h"
#include "vms-testutil.h"

#define HDR      "5145564d 00000003 "
#define FIXTURES "/tests/fixtures/qemu-7.2/"

static GByteArray *fixture(const char *name)
{
    const char *src = g_getenv("LOCKSTEP_SRC");
    g_autofree char *path = g_strconcat(src ? src : ".", FIXTURES, name, NULL);
    GByteArray *a = NULL;
    g_autoptr(GError) err = NULL;

    if (!vms_read_file(path, &a, &err)) {
        g_error("%s", err->message);
    }
    return a;
}

/* tdev_fill() with the unused tail of the variable array zeroed: only
   `count` elements travel, so a loaded copy keeps zeros there. */
static void tdev_fill_loaded(TDev *d)
{
    tdev_fill(d);
    d->varr[2] = 0;
    d->varr[3] = 0;
}

typedef struct TWorld {
    TDev dev[2];
    TByte2 p92;
    VmsRegistry *reg;
} TWorld;

static void world_init(TWorld *w)
{
    memset(w, 0, sizeof(*w));
    w->dev[0].eq = 7;
    w->dev[0].le = 100;
    w->dev[1] = w->dev[0];
    w->reg = vms_registry_new();
    g_assert_true(vms_register(w->reg, "tdev", -1, 0x3f8, &tdev_vmsd,
                               &w->dev[0], sizeof(TDev), NULL));
    g_assert_true(vms_register(w->reg, "tdev", -1, -1, &tdev_vmsd, &w->dev[1],
                               sizeof(TDev), NULL));
    g_assert_true(vms_register(w->reg, "port92", -1, -1, &tport92_vmsd, &w->p92,
                               sizeof(TByte2), NULL));
}

static GByteArray *save_filled(bool footers)
{
    TWorld w;
    GByteArray *out = g_byte_array_new();

    world_init(&w);
    tdev_fill_loaded(&w.dev[0]);
    tdev_fill_loaded(&w.dev[1]);
    w.dev[1].u8 = 0x80;
    w.dev[1].opt = 0;
    w.dev[1].count = 4;
    w.dev[1].varr[3] = 9;
    w.p92.a = 0x5a;
    g_assert_true(
        vms_save_all(w.reg, &(VmsSaveOpts){.footers = footers}, out, NULL));
    vms_registry_free(w.reg);
    return out;
}

/* Loads and checks that a failure leaves every live byte as it was. */
static bool load_checked(TWorld *w, const guint8 *buf, gsize len,
                         VmsUnknownPolicy pol, GError **errp)
{
    TWorld before = *w;
    VmsLoadOpts opts = {.unknown = pol};

    bool ok = vms_load_all(w->reg, buf, len, &opts, errp);
    if (!ok) {
        g_assert_true(memcmp(w->dev, before.dev, sizeof(w->dev)) == 0);
        g_assert_true(memcmp(&w->p92, &before.p92, sizeof(w->p92)) == 0);
    }
    return ok;
}

static void test_round_trip(void)
{
    for (int footers = 0; footers < 2; footers++) {
        g_autoptr(GByteArray) a = save_filled(footers);
        g_autoptr(GByteArray) b = g_byte_array_new();
        TWorld w;

        world_init(&w);
        w.dev[0].opt_inner = 6;
        g_assert_true(
            load_checked(&w, a->data, a->len, VMS_UNKNOWN_REJECT, NULL));
        g_assert_cmpint(w.dev[0].commit_calls, ==, 1);
        g_assert_cmpint(w.dev[0].post_load_calls, ==, 1);
        g_assert_cmpuint(w.dev[0].opt_inner, ==, 1);
        g_assert_cmpuint(w.dev[1].varr[3], ==, 9);
        g_assert_cmpuint(w.dev[1].gated, ==, 0);
        g_assert_cmpint(w.dev[0].le, ==, 5);
        g_assert_true(w.dev[0].b);
        g_assert_true(
            vms_save_all(w.reg, &(VmsSaveOpts){.footers = footers}, b, NULL));
        g_assert_cmpmem(a->data, a->len, b->data, b->len);
        vms_registry_free(w.reg);
    }
}

static void expect_fail(const char *spec, VmsUnknownPolicy pol, const char *msg)
{
    g_autoptr(GByteArray) s = tu_bytes(spec);
    g_autoptr(GError) err = NULL;
    TWorld w;

    world_init(&w);
    w.p92.a = 0x77;
    g_assert_false(load_checked(&w, s->data, s->len, pol, &err));
    g_assert_cmpstr(err->message, ==, msg);
    g_assert_cmpint(w.dev[0].commit_calls + w.dev[1].commit_calls, ==, 0);
    vms_registry_free(w.reg);
}

static void expect_ok(const char *spec, VmsUnknownPolicy pol, uint8_t p92)
{
    g_autoptr(GByteArray) s = tu_bytes(spec);
    g_autoptr(GError) err = NULL;
    TWorld w;

    world_init(&w);
    if (!load_checked(&w, s->data, s->len, pol, &err)) {
        g_error("%s", err->message);
    }
    g_assert_cmpuint(w.p92.a, ==, p92);
    vms_registry_free(w.reg);
}

#define P92(id, v) "04 " id " 06 \"port92\" 00000000 00000001 " v " "
#define FOOT(id)   "7e " id " "

static void test_header_errors(void)
{
    expect_fail("", 0, "offset 0x0: Not a migration stream");
    expect_fail("5145564e 00000003 00", 0,
                "offset 0x0: Not a migration stream");
    expect_fail("5145564d 0000", 0,
                "offset 0x4: stream truncated: no "
                "version");
    expect_fail("5145564d 00000002 00", 0,
                "offset 0x4: SaveVM v2 format "
                "is obsolete and don't work anymore");
    expect_fail("5145564d 00000004 00", 0,
                "offset 0x4: Unsupported migration stream version");
    expect_fail(HDR, 0, "offset 0x8: stream truncated: no EOF marker");
    expect_fail(HDR "00 00", 0, "offset 0x9: 1 trailing bytes after EOF");
    expect_fail(HDR "09", 0, "offset 0x8: Unknown savevm section type 9");
    expect_fail(HDR "01 00000000", 0,
                "offset 0x8: Unknown savevm section "
                "type 1 (a START/PART/END section of an iterative device: a "
                "full migration stream, not a device-state file)");
    expect_fail(HDR "07 00000002 \"pc\" 00", 0,
                "offset 0x8: Unknown "
                "savevm section type 7 (a configuration section: a full "
                "migration stream, not a device-state file)");
    expect_fail(HDR "08 0002 0004 00000000 00", 0,
                "offset 0x8: Unknown "
                "savevm section type 8 (a migration command: a full "
                "migration stream, not a device-state file)");
    expect_ok(HDR "00", 0, 0);
}

static void test_section_errors(void)
{
    expect_ok(HDR P92("00000002", "33") "00", 0, 0x33);
    expect_ok(HDR P92("00000002", "33") FOOT("00000002") "00", 0, 0x33);
    expect_fail(HDR "04 00000001 00 00000000 00000001 00", 0,
                "offset 0xd: Unable to read ID string for section 1");
    expect_fail(HDR "04 00000001 09 \"port92\" 00000000", 0,
                "offset 0xe: stream truncated: 17 bytes needed, 10 left");
    expect_fail(HDR "04 00000001 ff \"port92\" 00000000 00000001 01 00", 0,
                "offset 0xe: stream truncated: 263 bytes needed, 16 left");
    expect_fail(HDR "04 00000001 06 \"port93\" 00000000 00000001 01 00", 0,
                "section 'port93' instance 0 (offset 0x8): Unknown savevm "
                "section or instance 'port93' 0. Make sure that your "
                "current VM setup matches your saved VM setup, including "
                "any hotplugged devices");
    expect_fail(HDR "04 00000001 06 \"port92\" 00000001 00000001 01 00", 0,
                "section 'port92' instance 1 (offset 0x8): Unknown savevm "
                "section or instance 'port92' 1. Make sure that your "
                "current VM setup matches your saved VM setup, including "
                "any hotplugged devices");
    expect_fail(HDR "04 00000002 06 \"port92\" 00000000 00000002 33 00", 0,
                "section 'port92' instance 0 (offset 0x18): savevm: "
                "unsupported version 2 for 'port92' v1");
    expect_fail(HDR "04 00000001 06 \"port92\" 00000000 00000000 01 00", 0,
                "section 'port92' instance 0 (offset 0x18): port92: "
                "incoming version_id 0 is too old for local minimum "
                "version_id 1");
    expect_fail(HDR P92("00000002", "01") FOOT("00000003") "00", 0,
                "section 'port92' instance 0 (offset 0x1d): Mismatched "
                "section id in footer for port92 - read 0x3 expected 0x2");
    expect_fail(HDR P92("00000002", "01") FOOT("00000002")
                    P92("00000002", "01") "00",
                0,
                "section 'port92' instance 0 (offset 0x22): duplicate "
                "section: already loaded from offset 0x8");
    expect_fail(HDR P92("00000002", "01"), 0,
                "offset 0x1d: stream truncated: no EOF marker");
    expect_fail(HDR P92("00000002", "01") FOOT("00000002"), 0,
                "offset 0x22: stream truncated: no EOF marker");
}

#define TD(inst, ver) "04 00000000 04 \"tdev\" " inst " " ver " "
#define TDEV_V1                                                                \
    "80 00 0000 0000 00000000 00000000 0000000000000000 0000000000000000 "     \
    "00 0000000000000000 00000000 0000 0000 0000 "

static void test_field_errors(void)
{
    /* version 1 stream: no v2 byte; u8 even: no gated byte */
    expect_ok(HDR TD("00000000", "00000001") TDEV_V1
              "00 00000007 00000005 0000 0000 00 0000 00 00 " P92("00000002",
                                                                  "44") "00",
              0, 0x44);
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "05 00000007 00000005 0000 0000 00 0000 00 00 00",
                0,
                "section 'tdev' instance 0 (offset 0x8): field 'varr' "
                "(offset 0x4c): element count 5 exceeds capacity 4");
    expect_fail(HDR TD("00000001", "00000001") TDEV_V1
                "00 00000008 00000005 0000 0000 00 0000 00 00 00",
                0,
                "section 'tdev' instance 1 (offset 0x8): field 'eq' "
                "(offset 0x4c): 8 != 7");
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "00 00000007 00000065 0000 0000 00 0000 00 00 00",
                0,
                "section 'tdev' instance 0 (offset 0x8): field 'le' "
                "(offset 0x50): Invalid value 101 expecting positive value "
                "<= 100");
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "00 00000007 ffffffff 0000 0000 00 0000 00 00 00",
                0,
                "section 'tdev' instance 0 (offset 0x8): field 'le' "
                "(offset 0x50): Invalid value -1 expecting positive value "
                "<= 100");
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "00 00000007 00000005 0000 0000 00 0000 00 "
                "05 0a \"tsub/extra\" 00000002 01 00 00",
                0,
                "section 'tdev' instance 0 (offset 0x8): field "
                "'sub[1]/tsub/extra' (offset 0x68): unsupported subsection "
                "version 2 (accepted 1..1)");
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "00 00000007 00000005 0000 0000 00 0000 00 00 "
                "05 09 \"tdev/nope\" 00000001 00",
                0,
                "section 'tdev' instance 0 (offset 0x5d): VM "
                "subsection 'tdev/nope' in 'tdev' does not exist");
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "00 00000007 00000005 0000 0000 00 0000 00 00 "
                "05 08 \"tdev/opt\" 00000001 09 "
                "05 0e \"tdev/opt/inner\" 00000001",
                0,
                "section 'tdev' instance 0 (offset 0x8): field "
                "'tdev/opt/inner/opt_inner' (offset 0x80): stream "
                "truncated: 1 bytes needed, 0 left");
    /* a subsection of another parent is not consumed: next record fails */
    expect_fail(HDR TD("00000000", "00000001") TDEV_V1
                "00 00000007 00000005 0000 0000 00 0000 00 00 "
                "05 08 \"xdev/opt\" 00000001 09 00",
                0,
                "offset 0x5d: Unknown savevm section type 5 (a subsection "
                "not claimed by the previous section)");
}

static void test_alias_and_subsections(void)
{
    g_autoptr(GByteArray) s =
        tu_bytes(HDR TD("000003f8", "00000002") TDEV_V1
                 "00 00000007 00000005 0000 42 0000 00 0000 00 00 "
                 "05 08 \"tdev/opt\" 00000001 09 "
                 "05 0e \"tdev/opt/inner\" 00000001 03 00");
    TWorld w;

    world_init(&w);
    w.dev[0].opt_inner = 0x10;
    g_assert_true(load_checked(&w, s->data, s->len, 0, NULL));
    g_assert_cmpuint(w.dev[0].v2, ==, 0x42);
    g_assert_cmpuint(w.dev[0].opt, ==, 9);
    g_assert_cmpuint(w.dev[0].opt_inner, ==, 3);
    g_assert_cmpint(w.dev[1].commit_calls, ==, 0);
    vms_registry_free(w.reg);
}

static void test_unknown_policies(void)
{
    const char *unknown = "04 00000007 03 \"abc\" 00000000 00000001 "
                          "7e 00000007 01 02 ";
    expect_ok(HDR "04 00000007 03 \"abc\" 00000000 00000001 "
                  "7e 00000007 04 7e 00000007 " P92("00000002", "31")
                      FOOT("00000002") "00",
              VMS_UNKNOWN_SKIP, 0x31);
    expect_ok(
        HDR P92("00000002", "32") FOOT(
            "00000002") "04 00000007 03 "
                        "\"abc\" 00000000 00000001 7e 00000007 7e 00000007 00",
        VMS_UNKNOWN_SKIP, 0x32);
    g_autofree char *s = g_strconcat(HDR, unknown, "00", NULL);
    expect_fail(s, VMS_UNKNOWN_SKIP,
                "section 'abc' instance 0 "
                "(offset 0x19): cannot skip unknown section: no footer with "
                "section id 0x7 follows");
    expect_fail(HDR P92("00000002", "32") "04 00000007 03 \"abc\" 00000000 "
                                          "00000001 7e 00000007 00",
                VMS_UNKNOWN_SKIP,
                "section 'abc' instance 0 (offset 0x2e): cannot skip "
                "unknown section: the stream has no section footers to "
                "find its end");
    expect_fail(HDR P92("00000002", "32") FOOT("00000002")
                    TD("00000001", "00000001") TDEV_V1
                "00 00000007 00000005 0000 0000 00 0000 00 00 00",
                0,
                "section 'tdev' instance 1 (offset 0x77): Missing section "
                "footer for tdev (found byte 0x00)");
}

static void test_post_load_fails_third(void)
{
    g_autoptr(GByteArray) a = save_filled(true);
    g_autoptr(GError) err = NULL;
    TWorld w;
    VmsDesc d = tport92_vmsd;

    world_init(&w);
    vms_registry_free(w.reg);
    w.reg = vms_registry_new();
    w.dev[1].fail_post_load = true; /* kept: absent from the stream */
    g_assert_true(vms_register(w.reg, "tdev", -1, -1, &tdev_vmsd, &w.dev[0],
                               sizeof(TDev), NULL));
    g_assert_true(vms_register(w.reg, "tdev", -1, -1, &tdev_vmsd, &w.dev[1],
                               sizeof(TDev), NULL));
    g_assert_true(vms_register(w.reg, "port92", -1, -1, &d, &w.p92,
                               sizeof(TByte2), NULL));
    g_assert_false(load_checked(&w, a->data, a->len, 0, &err));
    g_assert_true(g_str_has_suffix(err->message, "tdev refuses"));
    g_assert_true(g_str_has_prefix(err->message, "section 'tdev' instance 1"));
    g_assert_cmpint(w.dev[0].commit_calls, ==, 0);
    g_assert_cmpint(w.dev[0].post_load_calls, ==, 0);
    vms_registry_free(w.reg);
}

static void check_all_malformed(TWorld *w, const GByteArray *s,
                                VmsUnknownPolicy pol, unsigned *ok_flips)
{
    for (guint n = 0; n < s->len; n++) {
        g_autoptr(GError) err = NULL;
        g_assert_false(load_checked(w, s->data, n, pol, &err));
        g_assert_nonnull(err);
    }
    g_autofree guint8 *copy = g_memdup2(s->data, s->len);
    for (guint i = 0; i < s->len; i++) {
        for (int k = 0; k < 2; k++) {
            g_autoptr(GError) err = NULL;
            copy[i] ^= k ? 0x01 : 0xff;
            if (load_checked(w, copy, s->len, pol, &err)) {
                (*ok_flips)++;
            } else {
                g_assert_nonnull(err);
            }
            copy[i] = s->data[i];
        }
    }
}

static void test_malformed_constructs(void)
{
    for (int footers = 0; footers < 2; footers++) {
        g_autoptr(GByteArray) s = save_filled(footers);
        unsigned ok = 0;
        TWorld w;

        world_init(&w);
        w.dev[0].le = w.dev[1].le = 100;
        check_all_malformed(&w, s, VMS_UNKNOWN_REJECT, &ok);
        g_assert_cmpuint(ok, >, 0);
        vms_registry_free(w.reg);
    }
}

static void test_real_qemu_file(void)
{
    g_autoptr(GByteArray) s = fixture("pc-tcg-prelaunch.devstate");
    g_autoptr(GError) err = NULL;
    TPc pc;
    g_autoptr(VmsRegistry) reg = NULL;

    memset(&pc, 0xee, sizeof(pc));
    reg = tpc_registry(&pc);
    g_assert_false(vms_load_all(reg, s->data, s->len, NULL, &err));
    g_assert_cmpstr(err->message, ==,
                    "section 'timer' instance 0 (offset "
                    "0x8): Unknown savevm section or instance 'timer' 0. "
                    "Make sure that your current VM setup matches your saved "
                    "VM setup, including any hotplugged devices");
    g_assert_cmpuint(pc.p92.a, ==, 0xee);
    VmsLoadOpts skip = {.unknown = VMS_UNKNOWN_SKIP};
    g_assert_true(vms_load_all(reg, s->data, s->len, &skip, NULL));
    /* prelaunch: every mirrored device at its reset values */
    g_assert_cmpuint(pc.pic[0].r[2], ==, 0);
    g_assert_cmpuint(pc.pic[1].r[5], ==, 0);
    g_assert_cmpuint(pc.pit.irq_disabled, ==, 0);
    g_assert_cmpint(pc.pit.ch[0].count, ==, 0x10000);
    g_assert_cmpuint(pc.spk.b, ==, 0);
}

static void test_real_qemu_malformed(void)
{
    g_autoptr(GByteArray) s = fixture("pc-tcg-prelaunch.devstate");
    TPc pc, before;
    g_autoptr(VmsRegistry) reg = NULL;
    VmsLoadOpts skip = {.unknown = VMS_UNKNOWN_SKIP};
    unsigned ok = 0;

    memset(&pc, 0x5a, sizeof(pc));
    reg = tpc_registry(&pc);
    before = pc;
    for (guint n = 0; n < s->len; n++) {
        g_autoptr(GError) err = NULL;
        g_assert_false(vms_load_all(reg, s->data, n, &skip, &err));
        g_assert_true(memcmp(&pc, &before, sizeof(pc)) == 0);
    }
    g_autofree guint8 *copy = g_memdup2(s->data, s->len);
    for (guint i = 0; i < s->len; i++) {
        g_autoptr(GError) err = NULL;
        copy[i] ^= 0xff;
        if (vms_load_all(reg, copy, s->len, &skip, &err)) {
            ok++;
            pc = before;
        } else {
            g_assert_true(memcmp(&pc, &before, sizeof(pc)) == 0);
        }
        copy[i] = s->data[i];
    }
    g_assert_cmpuint(ok, >, 0);
}

/* A bulk buffer (VMS_BULK_BUFFER_MIN bytes or more) is moved from the
   stream at commit: loaded exactly, untouched by a failed load, and
   invisible (zeros) to post_load. */
typedef struct TBulk {
    uint32_t head;
    uint8_t blob[VMS_BULK_BUFFER_MIN];
    uint32_t tail;
} TBulk;

static bool tbulk_saw_zeros;

static bool tbulk_post_load(void *state, int version, GError **errp)
{
    const TBulk *b = state;

    tbulk_saw_zeros = b->blob[0] == 0 && b->blob[sizeof(b->blob) - 1] == 0;
    if (b->tail == 0xbad) {
        ls_error_set(errp, "tail is bad");
        return false;
    }
    return true;
}

static const VmsDesc tbulk_vmsd = {
    .name = "bulk",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = tbulk_post_load,
    .fields =
        (const VmsField[]){
            VMS_UINT32(TBulk, head),
            VMS_BUFFER(TBulk, blob),
            VMS_UINT32(TBulk, tail),
            VMS_END_OF_LIST,
        },
};

static void test_bulk_buffer(void)
{
    static TBulk src, dst, before;
    VmsSaveOpts so = {.footers = true};
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    g_autoptr(VmsRegistry) ra = vms_registry_new();
    g_autoptr(VmsRegistry) rb = vms_registry_new();
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    src.head = 1;
    src.tail = 2;
    for (size_t i = 0; i < sizeof(src.blob); i++) {
        src.blob[i] = (uint8_t)(i * 7 + 1);
    }
    memset(&dst, 0xee, sizeof(dst));
    g_assert_true(
        vms_register(ra, "bulk", 0, -1, &tbulk_vmsd, &src, sizeof(src), NULL));
    g_assert_true(
        vms_register(rb, "bulk", 0, -1, &tbulk_vmsd, &dst, sizeof(dst), NULL));
    g_assert_true(vms_save_all(ra, &so, out, NULL));
    g_assert_true(vms_load_all(rb, out->data, out->len, &lo, &err));
    g_assert_no_error(err);
    g_assert_true(tbulk_saw_zeros);
    g_assert_cmpmem(&dst, sizeof(dst), &src, sizeof(src));

    /* A failing load (after the blob was read) changes nothing. */
    src.tail = 0xbad;
    memset(src.blob, 0x55, sizeof(src.blob));
    g_byte_array_set_size(out, 0);
    g_assert_true(vms_save_all(ra, &so, out, NULL));
    before = dst;
    g_assert_false(vms_load_all(rb, out->data, out->len, &lo, &err));
    g_assert_nonnull(strstr(err->message, "tail is bad"));
    g_assert_cmpmem(&dst, sizeof(dst), &before, sizeof(before));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vms/load/round-trip", test_round_trip);
    g_test_add_func("/vms/load/header-errors", test_header_errors);
    g_test_add_func("/vms/load/section-errors", test_section_errors);
    g_test_add_func("/vms/load/field-errors", test_field_errors);
    g_test_add_func("/vms/load/alias-subsections", test_alias_and_subsections);
    g_test_add_func("/vms/load/unknown-policies", test_unknown_policies);
    g_test_add_func("/vms/load/post-load-third", test_post_load_fails_third);
    g_test_add_func("/vms/load/malformed-constructs",
                    test_malformed_constructs);
    g_test_add_func("/vms/load/real-qemu", test_real_qemu_file);
    g_test_add_func("/vms/load/bulk-buffer", test_bulk_buffer);
    g_test_add_func("/vms/load/real-qemu-malformed", test_real_qemu_malformed);
    return g_test_run();
}
