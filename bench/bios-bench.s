# The vCPU benchmark's guest (bench/cpu-bench.c): forever rewrites a
# 64 KiB buffer at 1000:0000, one 16-bit store per four instructions,
# with interrupts off; never halts.
        .code16
        .text
start:
        cli
        mov     $0x1000, %ax
        mov     %ax, %ds
1:      xor     %di, %di
        mov     $0x8000, %cx
2:      mov     %cx, (%di)
        add     $2, %di
        inc     %ax
        loop    2b
        jmp     1b

        .org    0xfff0          # the reset vector, F000:FFF0
        ljmp    $0xf000, $start
        .org    0x10000
