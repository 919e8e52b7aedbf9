/*
 * IRQ lines. A line is a handler + opaque + line number; a device holds a
 * borrowed pointer to the line it drives and never knows what is behind it
 * (the PIC, or qtest's interceptor in front of the PIC).
 */
#ifndef LS_HW_IRQ_H
#define LS_HW_IRQ_H

#include <stddef.h>

typedef void (*HwIrqHandler)(void *opaque, int n, int level);

typedef struct HwIrq {
    HwIrqHandler handler;
    void *opaque;
    int n;
} HwIrq;

static inline void hw_irq_init(HwIrq *irq, HwIrqHandler handler, void *opaque,
                               int n)
{
    irq->handler = handler;
    irq->opaque = opaque;
    irq->n = n;
}

static inline void hw_irq_set(HwIrq *irq, int level)
{
    if (irq && irq->handler) {
        irq->handler(irq->opaque, irq->n, level);
    }
}

static inline void hw_irq_raise(HwIrq *irq)
{
    hw_irq_set(irq, 1);
}

static inline void hw_irq_lower(HwIrq *irq)
{
    hw_irq_set(irq, 0);
}

static inline void hw_irq_pulse(HwIrq *irq)
{
    hw_irq_set(irq, 1);
    hw_irq_set(irq, 0);
}

#ifndef container_of
#define container_of(ptr, type, member)                                        \
    ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#endif
