# A 64 KiB test BIOS whose output depends on timing: it counts iterations
# of a busy loop between PIT ticks (channel 0, mode 2, divisor 1193) and
# prints each count as four hex digits, for NTICKS ticks (ten unless
# assembled with --defsym NTICKS=N), then halts with interrupts off. On
# host time the counts vary from run to run; under -icount they must not.
        .code16
        .include "bios-pic.inc"
        .text
        .set    COM1, 0x3f8
        .set    TICKS, 0x502
        .ifndef NTICKS
        .set    NTICKS, 10
        .endif

start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %ss
        mov     $0x7000, %sp
        movw    $tick, (0x08 * 4)
        movw    $0xf000, (0x08 * 4 + 2)
        pic_init 0xfe, 0xff             # only IRQ 0
        movw    $0, (TICKS)
        mov     $0x34, %al              # PIT channel 0, lo/hi, mode 2
        out     %al, $0x43
        mov     $1193, %ax
        out     %al, $0x40
        mov     %ah, %al
        out     %al, $0x40
        xor     %bx, %bx                # BX: ticks seen, CX: the count
        xor     %cx, %cx
        sti
1:      inc     %cx
        cmp     (TICKS), %bx
        je      1b
        inc     %bx
        call    puthex
        xor     %cx, %cx
        cmp     $NTICKS, %bx
        jb      1b
        cli
        mov     $COM1, %dx
        mov     $'\n', %al
        out     %al, %dx
2:      hlt
        jmp     2b

# Prints CX as four hex digits and a space.
puthex: mov     $COM1, %dx
        mov     $4, %si
1:      rol     $4, %cx
        mov     %cl, %al
        and     $0x0f, %al
        add     $'0', %al
        cmp     $'9', %al
        jbe     2f
        add     $('a' - '0' - 10), %al
2:      out     %al, %dx
        dec     %si
        jnz     1b
        mov     $' ', %al
        out     %al, %dx
        ret

tick:   push    %ax
        incw    (TICKS)
        mov     $0x20, %al
        out     %al, $0x20
        pop     %ax
        iret

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $0xf000, $start
        .org    0x10000
