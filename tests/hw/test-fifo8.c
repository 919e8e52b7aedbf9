/* Fifo8: ring order, wrap-around, QEMU's reset (bytes stay in their
   slots), range checks for loaded state. */
#include <string.h>

#include "hw/fifo8.h"

static void test_push_pop_wrap(void)
{
    Fifo8 f;

    fifo8_init(&f);
    g_assert_true(fifo8_is_empty(&f));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 11; i++) {
            fifo8_push(&f, (uint8_t)(round * 16 + i));
        }
        g_assert_cmpuint(fifo8_num_used(&f), ==, 11);
        g_assert_cmpuint(fifo8_num_free(&f), ==, 5);
        for (int i = 0; i < 11; i++) {
            g_assert_cmpuint(fifo8_pop(&f), ==, round * 16 + i);
        }
    }
    /* 33 pops: head wrapped to 33 % 16. */
    g_assert_cmpuint(f.head, ==, 1);
    for (int i = 0; i < FIFO8_CAPACITY; i++) {
        fifo8_push(&f, (uint8_t)i);
    }
    g_assert_true(fifo8_is_full(&f));
    g_assert_cmpuint(f.data[0], ==, 15); /* the 16th byte wrapped to 0 */
}

static void test_reset_keeps_bytes(void)
{
    Fifo8 f;

    fifo8_init(&f);
    fifo8_push(&f, 0xaa);
    fifo8_push(&f, 0xbb);
    fifo8_pop(&f);
    fifo8_reset(&f);
    g_assert_cmpuint(f.head, ==, 0);
    g_assert_cmpuint(f.num, ==, 0);
    /* QEMU saves these stale bytes too. */
    g_assert_cmpuint(f.data[0], ==, 0xaa);
    g_assert_cmpuint(f.data[1], ==, 0xbb);
    g_assert_cmpuint(f.data[2], ==, 0);
}

static void test_check(void)
{
    Fifo8 f;
    GError *err = NULL;

    fifo8_init(&f);
    f.head = 15;
    f.num = 16;
    g_assert_true(fifo8_check(&f, &err));
    f.head = 16;
    g_assert_false(fifo8_check(&f, &err));
    g_assert_nonnull(strstr(err->message, "head 16"));
    g_clear_error(&err);
    f.head = 0;
    f.num = 17;
    g_assert_false(fifo8_check(&f, &err));
    g_assert_nonnull(strstr(err->message, "num 17"));
    g_clear_error(&err);
}

static void test_vmsd_shape(void)
{
    g_assert_cmpstr(fifo8_vmsd.name, ==, "Fifo8");
    g_assert_cmpint(fifo8_vmsd.version_id, ==, 1);
    g_assert_cmpstr(fifo8_vmsd.fields[0].name, ==, "data");
    g_assert_cmpuint(fifo8_vmsd.fields[0].size, ==, 16);
    g_assert_cmpstr(fifo8_vmsd.fields[1].name, ==, "head");
    g_assert_cmpstr(fifo8_vmsd.fields[2].name, ==, "num");
    g_assert_null(fifo8_vmsd.fields[3].name);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fifo8/push-pop-wrap", test_push_pop_wrap);
    g_test_add_func("/fifo8/reset-keeps-bytes", test_reset_keeps_bytes);
    g_test_add_func("/fifo8/check", test_check);
    g_test_add_func("/fifo8/vmsd-shape", test_vmsd_shape);
    return g_test_run();
}
