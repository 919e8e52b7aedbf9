/*
 * Stream writer golden bytes: every wire type, fixed and variable arrays,
 * nested structs with their own subsections, version gates, field_exists,
 * subsections needed / not needed (nested too), footers on and off, EOF,
 * top-level needed, and the registry's instance / section id rules.
 */
#include "vms-testdev.h"
#include "vms-testutil.h"

#define HDR "5145564d 00000003"

/* The tdev payload of tdev_fill(), field by field. */
#define TDEV_FIELDS                                                            \
    "81 fe 1234 fffd deadbeef fffffffc 0102030405060708 fffffffffffffffb "     \
    "01 ffffffffffffffff 09080706 0001 0002 0003 02 00000011 00000022 "        \
    "00000007 00000005 0000 42 33 "                                            \
    "0a0b 0c  0102 03 05 0a \"tsub/extra\" 00000001 44 00 "

#define TDEV_SUBS                                                              \
    "05 08 \"tdev/opt\" 00000002 55 "                                          \
    "05 0e \"tdev/opt/inner\" 00000001 01 "

static GByteArray *save_one(TDev *d, bool footers, int inst)
{
    g_autoptr(VmsRegistry) reg = vms_registry_new();
    GByteArray *out = g_byte_array_new();
    VmsSaveOpts opts = {.footers = footers};

    vms_registry_skip_section_ids(reg, 10);
    g_assert_true(
        vms_register(reg, "tdev", inst, -1, &tdev_vmsd, d, sizeof(*d), NULL));
    g_assert_true(vms_save_all(reg, &opts, out, NULL));
    return out;
}

static void test_all_types_footers(void)
{
    TDev d;

    tdev_fill(&d);
    g_autoptr(GByteArray) out = save_one(&d, true, 3);
    tu_assert_bytes(
        out,
        HDR " 04 0000000a 04 \"tdev\" 00000003 00000002 " TDEV_FIELDS TDEV_SUBS
            "7e 0000000a 00");
}

static void test_no_footers(void)
{
    TDev d;

    tdev_fill(&d);
    g_autoptr(GByteArray) out = save_one(&d, false, -1);
    tu_assert_bytes(
        out,
        HDR " 04 0000000a 04 \"tdev\" 00000000 00000002 " TDEV_FIELDS TDEV_SUBS
            "00");
}

static void test_not_needed_and_not_exists(void)
{
    TDev d;

    tdev_fill(&d);
    d.u8 = 0x80;        /* gated absent */
    d.sub[1].extra = 0; /* nested subsection absent */
    d.opt_inner = 2;    /* inner absent, opt present */
    d.count = 0;        /* empty variable array */
    g_autoptr(GByteArray) out = save_one(&d, false, 0);
    tu_assert_bytes(out,
                    HDR " 04 0000000a 04 \"tdev\" 00000000 00000002 "
                        "80 fe 1234 fffd deadbeef fffffffc 0102030405060708 "
                        "fffffffffffffffb 01 ffffffffffffffff 09080706 "
                        "0001 0002 0003 00 00000007 00000005 0000 42 "
                        "0a0b 0c 0102 03 00 "
                        "05 08 \"tdev/opt\" 00000002 55 00");
    d.opt = 0;
    g_autoptr(GByteArray) out2 = save_one(&d, false, 0);
    g_assert_cmpuint(out2->len, ==, out->len - 15);
}

static void test_bool_normalised(void)
{
    TDev d;

    tdev_fill(&d);
    memset(&d.b, 7, 1); /* a non-canonical bool in memory */
    g_autoptr(GByteArray) out = save_one(&d, false, 0);
    /* header 8 + type 1 + id 4 + name 5 + ids 8 = 26; b at +30 */
    g_assert_cmpuint(out->data[26 + 30], ==, 1);
}

static void test_varray_over_capacity(void)
{
    TDev d;
    g_autoptr(VmsRegistry) reg = vms_registry_new();
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    tdev_fill(&d);
    d.count = 5;
    g_assert_true(
        vms_register(reg, "tdev", 0, -1, &tdev_vmsd, &d, sizeof(d), NULL));
    g_byte_array_append(out, (const guint8 *)"xy", 2);
    g_assert_false(vms_save_all(reg, NULL, out, &err));
    g_assert_cmpstr(err->message, ==,
                    "section 'tdev' instance 0: field "
                    "'varr': element count 5 exceeds capacity 4");
    g_assert_cmpuint(out->len, ==, 2);
}

static bool pre_save_fail(void *s, GError **errp)
{
    ls_error_set(errp, "no");
    return false;
}

static bool p92_needed(const void *s)
{
    return ((const TByte2 *)s)->a != 0;
}

static void test_pre_save_and_needed(void)
{
    TByte2 a = {1, 2}, b = {0, 0};
    VmsDesc need = tport92_vmsd, fail = tport92_vmsd;
    g_autoptr(VmsRegistry) reg = vms_registry_new();
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    need.needed = p92_needed;
    g_assert_true(vms_register(reg, "a", -1, -1, &need, &a, 2, NULL));
    g_assert_true(vms_register(reg, "b", -1, -1, &need, &b, 2, NULL));
    g_assert_true(vms_save_all(reg, NULL, out, NULL));
    tu_assert_bytes(out, HDR " 04 00000000 01 \"a\" 00000000 00000001 01 00");
    fail.pre_save = pre_save_fail;
    g_assert_true(vms_register(reg, "c", -1, -1, &fail, &b, 2, NULL));
    g_assert_false(vms_save_all(reg, NULL, out, &err));
    g_assert_cmpstr(err->message, ==,
                    "section 'c' instance 0: pre-save "
                    "failed: no");
    g_assert_cmpuint(out->len, ==, 25);
}

static void test_registry_rules(void)
{
    TByte2 s[5];
    g_autoptr(VmsRegistry) reg = vms_registry_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();

    memset(s, 0, sizeof(s));
    g_assert_true(
        vms_register(reg, "x", -1, -1, &tport92_vmsd, &s[0], 2, NULL));
    g_assert_true(vms_register(reg, "x", 5, -1, &tport92_vmsd, &s[1], 2, NULL));
    vms_registry_skip_section_ids(reg, 3);
    g_assert_true(
        vms_register(reg, "x", -1, -1, &tport92_vmsd, &s[2], 2, NULL));
    g_assert_false(
        vms_register(reg, "x", 5, -1, &tport92_vmsd, &s[3], 2, &err));
    g_assert_cmpstr(err->message, ==,
                    "Detected duplicate SaveStateEntry: "
                    "id=x, instance_id=0x5");
    g_assert_cmpuint(vms_registry_count(reg), ==, 3);
    g_assert_cmpstr(vms_registry_idstr(reg, 2), ==, "x");
    g_assert_cmpint(vms_registry_instance(reg, 2), ==, 6);
    g_assert_null(vms_registry_idstr(reg, 3));
    g_assert_true(
        vms_save_all(reg, &(VmsSaveOpts){.footers = true}, out, NULL));
    tu_assert_bytes(out,
                    HDR " 04 00000000 01 \"x\" 00000000 00000001 00 7e 00000000"
                        " 04 00000001 01 \"x\" 00000005 00000001 00 7e 00000001"
                        " 04 00000005 01 \"x\" 00000006 00000001 00 7e 00000005"
                        " 00");
}

static void test_pc_mirror_layout(void)
{
    TPc pc;
    g_autoptr(VmsRegistry) reg = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();

    memset(&pc, 0, sizeof(pc));
    reg = tpc_registry(&pc);
    pc.pit.ch[1].count = 0x10000;
    g_assert_true(
        vms_save_all(reg, &(VmsSaveOpts){.footers = true}, out, NULL));
    /* i8254: 4 + 3 * 32 + 8 bytes of payload, as QEMU's pc file */
    g_assert_cmpuint(out->len, ==,
                     8 + 2 * (19 + 16 + 5) + (19 + 108 + 5) + (19 + 2 + 5) +
                         (20 + 1 + 5) + 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vms/save/all-types-footers", test_all_types_footers);
    g_test_add_func("/vms/save/no-footers", test_no_footers);
    g_test_add_func("/vms/save/not-needed", test_not_needed_and_not_exists);
    g_test_add_func("/vms/save/bool", test_bool_normalised);
    g_test_add_func("/vms/save/varray-cap", test_varray_over_capacity);
    g_test_add_func("/vms/save/pre-save-needed", test_pre_save_and_needed);
    g_test_add_func("/vms/save/registry", test_registry_rules);
    g_test_add_func("/vms/save/pc-mirror", test_pc_mirror_layout);
    return g_test_run();
}
