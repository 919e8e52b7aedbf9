# A 64 KiB test BIOS: from the reset vector, writes a line to COM1's
# transmit register (port 0x3f8; DLAB is 0 at reset) one byte per `out`,
# then halts with interrupts off. No RAM is used: the text is read from
# the ROM through CS. The image maps at F0000; the code runs in segment
# F0FF (base F0FF0) so that offsets differ from linear addresses in their
# low 16 bits too: a resume at the wrong IP would show in the output.
        .code16
        .text
        .set    SEG, 0xf0ff
        .set    OFF, 0xff0      # (SEG << 4) - 0xf0000

        .org    0x1000
start:
        mov     $(msg - OFF), %si
        mov     $0x3f8, %dx
1:      cs lodsb
        test    %al, %al
        jz      2f
        out     %al, %dx
        jmp     1b
2:      cli
        hlt
        jmp     2b
msg:    .asciz  "hello from F000:FFF0\n"

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $SEG, $(start - OFF)
        .org    0x10000
