/*
 * Fifo8: a 16-byte ring of bytes, QEMU util/fifo8.c semantics and layout.
 * See fifo8.h.
 */
#include "hw/fifo8.h"

#include <assert.h>
#include <string.h>

#include "base/error.h"

static bool fifo8_post_load(void *state, int version_id, GError **errp)
{
    return fifo8_check(state, errp);
}

static const VmsField fifo8_fields[] = {
    VMS_BUFFER(Fifo8, data), VMS_UINT32(Fifo8, head), VMS_UINT32(Fifo8, num),
    VMS_END_OF_LIST};

const VmsDesc fifo8_vmsd = {
    .name = "Fifo8",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = fifo8_fields,
    .post_load = fifo8_post_load,
};

void fifo8_init(Fifo8 *f)
{
    memset(f, 0, sizeof(*f));
}

void fifo8_reset(Fifo8 *f)
{
    f->head = 0;
    f->num = 0;
}

void fifo8_push(Fifo8 *f, uint8_t v)
{
    assert(f->num < FIFO8_CAPACITY);
    f->data[(f->head + f->num) % FIFO8_CAPACITY] = v;
    f->num++;
}

uint8_t fifo8_pop(Fifo8 *f)
{
    uint8_t v;

    assert(f->num > 0);
    v = f->data[f->head];
    f->head = (f->head + 1) % FIFO8_CAPACITY;
    f->num--;
    return v;
}

bool fifo8_is_empty(const Fifo8 *f)
{
    return f->num == 0;
}

bool fifo8_is_full(const Fifo8 *f)
{
    return f->num == FIFO8_CAPACITY;
}

uint32_t fifo8_num_used(const Fifo8 *f)
{
    return f->num;
}

uint32_t fifo8_num_free(const Fifo8 *f)
{
    return FIFO8_CAPACITY - f->num;
}

bool fifo8_check(const Fifo8 *f, GError **errp)
{
    if (f->head >= FIFO8_CAPACITY) {
        ls_error_set(errp, "Fifo8 head %u out of range 0..%u", f->head,
                     FIFO8_CAPACITY - 1);
        return false;
    }
    if (f->num > FIFO8_CAPACITY) {
        ls_error_set(errp, "Fifo8 num %u out of range 0..%u", f->num,
                     FIFO8_CAPACITY);
        return false;
    }
    return true;
}
