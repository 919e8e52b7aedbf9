# A 64 KiB test BIOS for timer interrupts and guest resets. RAM survives a
# reset (as on a PC), so a boot counter at 0000:0500 tells the boots
# apart. Each boot prints 'B' and its number to COM1. Boots 1 and 2 program
# the PIT (channel 0, mode 2, divisor 1193: about 1 kHz) with IRQ 0 as the
# only unmasked line, print 't' for each of the first five ticks, then
# reset the machine: boot 1 through port 0x92 (fast reset, bit 0), boot 2
# through the i8042 (command 0xfe pulses the reset line). Boot 3 prints a
# newline and halts with interrupts off. Expected COM1 output:
#   "B1ttttt\nB2ttttt\nB3\n"
        .code16
        .include "bios-pic.inc"
        .text
        .set    COM1, 0x3f8
        .set    BOOTS, 0x500
        .set    TICKS, 0x502

        .macro  putc ch
        mov     $\ch, %al
        out     %al, %dx
        .endm

start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %ss
        mov     $0x7000, %sp
        movw    $tick, (0x08 * 4)
        movw    $0xf000, (0x08 * 4 + 2)
        pic_init 0xfe, 0xff             # only IRQ 0
        mov     $COM1, %dx
        incb    (BOOTS)
        movw    $0, (TICKS)
        putc    'B'
        mov     (BOOTS), %al
        add     $'0', %al
        out     %al, %dx
        cmpb    $3, (BOOTS)
        jne     1f
        putc    '\n'
9:      hlt
        jmp     9b

1:      mov     $0x34, %al              # PIT channel 0, lo/hi, mode 2
        out     %al, $0x43
        mov     $1193, %ax
        out     %al, $0x40
        mov     %ah, %al
        out     %al, $0x40
        sti
2:      hlt
        cmpw    $5, (TICKS)
        jb      2b
        cli
        putc    '\n'
        cmpb    $1, (BOOTS)
        jne     3f
        mov     $0x01, %al
        out     %al, $0x92
        jmp     .
3:      mov     $0xfe, %al
        out     %al, $0x64
        jmp     .

tick:   push    %ax
        incw    (TICKS)
        cmpw    $5, (TICKS)
        ja      1f
        putc    't'
1:      mov     $0x20, %al
        out     %al, $0x20
        pop     %ax
        iret

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $0xf000, $start
        .org    0x10000
