# A 64 KiB test BIOS whose RAM writes are known exactly: one IVT entry
# (page 0), one `int` (its FLAGS/CS/IP pushes land just below 0000:7000,
# page 6), a byte at 0x10000 (page 0x10), a word at 0x20ffe (page 0x20), a
# word straddling 0x30fff (pages 0x30 and 0x31). Then 'D' to COM1, and
# hlt with interrupts off. Reads (of page 0x40) dirty nothing.
        .code16
        .text
start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %ss
        mov     $0x7000, %sp
        movw    $soft, (0x60 * 4)
        movw    $0xf000, (0x60 * 4 + 2)
        int     $0x60
        mov     $0x1000, %ax
        mov     %ax, %es
        movb    $1, %es:0
        mov     $0x2000, %ax
        mov     %ax, %es
        movw    $2, %es:0xffe
        mov     $0x3000, %ax
        mov     %ax, %es
        movw    $3, %es:0xfff
        mov     $0x4000, %ax
        mov     %ax, %es
        mov     %es:0, %bx
        mov     $0x3f8, %dx
        mov     $'D', %al
        out     %al, %dx
1:      hlt
        jmp     1b

soft:   iret

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $0xf000, $start
        .org    0x10000
