# A 64 KiB test BIOS for interrupt delivery, driven by tests/cpu/
# test-vcpu-intr.c, which raises ISA lines between slices. Runs in segment
# F000 (offsets here are offsets in the segment), stack at 0000:7000,
# IVT in RAM at 0. Every handler reports itself by writing one character
# to COM1's transmit register:
#   int 0x60     'I'  (software interrupt through the IVT, then iret)
#   IRQ 1        '1'  no EOI: lines of lower priority stay blocked
#   IRQ 3, 4, 5  '3' '4' '5'  EOI to the master
#   IRQ 7        's'  spurious (no EOI, as a real handler would)
#   IRQ 12       'C'  slave line: EOI to the slave, then to the master
# The main program prints 'R', waits with IF clear (a `loop` of 2000),
# prints 'S', sets IF, waits again, prints 'T', then sleeps in `hlt`.
        .code16
        .include "bios-pic.inc"
        .text
        .set    COM1, 0x3f8

        .macro  setvec vec, handler
        movw    $\handler, (\vec * 4)
        movw    $0xf000, (\vec * 4 + 2)
        .endm

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
        setvec  0x60, soft
        setvec  0x09, irq1
        setvec  0x0b, irq3
        setvec  0x0c, irq4
        setvec  0x0d, irq5
        setvec  0x0f, irq7
        setvec  0x74, irq12
        pic_init 0x20, 0x00             # IRQ 5 masked
        mov     $COM1, %dx
        int     $0x60
        putc    'R'
        mov     $2000, %cx
1:      loop    1b
        putc    'S'
        sti
        mov     $2000, %cx
2:      loop    2b
        putc    'T'
3:      hlt
        jmp     3b

soft:   push    %ax
        putc    'I'
        pop     %ax
        iret

irq1:   push    %ax
        putc    '1'
        pop     %ax
        iret

irq7:   push    %ax
        putc    's'
        pop     %ax
        iret

irq3:   push    %ax
        mov     $'3', %al
        jmp     master
irq4:   push    %ax
        mov     $'4', %al
        jmp     master
irq5:   push    %ax
        mov     $'5', %al
        jmp     master
irq12:  push    %ax
        mov     $'C', %al
        out     %al, %dx
        mov     $0x20, %al
        out     %al, $0xa0
        jmp     eoi
master: out     %al, %dx
eoi:    mov     $0x20, %al
        out     %al, $0x20
        pop     %ax
        iret

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $0xf000, $start
        .org    0x10000
