# A 64 KiB test BIOS that never halts: a busy loop that writes '.' to
# COM1 every 50000 iterations of `loop`, forever, with interrupts off.
        .code16
        .text
start:
        mov     $0x3f8, %dx
1:      mov     $50000, %cx
2:      loop    2b
        mov     $'.', %al
        out     %al, %dx
        jmp     1b

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $0xf000, $start
        .org    0x10000
