# lockstep's guest program: a 64 KiB flat BIOS image for the pc machine.
#
# What it does, in order: sets up a stack and the real-mode interrupt vector
# table (IVT), routes the i8259's INTR through the local APIC (as SeaBIOS
# does), remaps the i8259 pair to vectors 0x20-0x2F, programs the
# i8254 channel 0 at 100 Hz, initialises the 16550 on COM1, fills a 256 KiB
# RAM buffer, prints one line with the RTC time, then forever: one "step"
# per timer tick, each rewriting one 4 KiB page of the buffer, updating a
# running checksum of the whole buffer, and printing `tick N sum XXXXXXXX`.
# COM1 output is interrupt driven (THRE interrupt, IRQ 4) from a ring
# buffer; the main loop sleeps in `hlt` between interrupts.
#
# A checkpoint that loses a page of the buffer shows up as a wrong
# checksum: the running sum is updated by reading back the page's old words
# before rewriting them, so stale contents change it. One that loses the
# variables' page shows up as a repeated line or a wrong sum.
# guest/README.md gives the memory map, the vectors, the line format and
# the checksum definition; scripts/check-guest-output recomputes the sums.
#
# Assembled by GNU as directly (no C preprocessor), AT&T syntax, 16-bit
# real mode; 32-bit registers are used through operand-size prefixes (a
# 386 or later). Linked by guest/guest.ld at offset 0: the image runs with
# CS = 0xF000, so a label's value is its offset in both the image and CS.

        .code16
        .text

# ---- Hardware ports (datasheet names) ------------------------------------
        .set PIC1_CMD,   0x20         # i8259 master: ICW1/OCW2/OCW3
        .set PIC1_DATA,  0x21         # i8259 master: ICW2-4/OCW1 (mask)
        .set PIC2_CMD,   0xA0         # i8259 slave
        .set PIC2_DATA,  0xA1
        .set PIC_ICW1_INIT, 0x11      # edge triggered, cascade, ICW4 follows
        .set PIC_ICW4_8086, 0x01      # 8086 mode, normal EOI
        .set PIC_OCW2_EOI,  0x20      # non-specific end of interrupt
        .set PIC1_VECTOR,   0x20      # IRQ 0-7  -> vectors 0x20-0x27
        .set PIC2_VECTOR,   0x28      # IRQ 8-15 -> vectors 0x28-0x2F
        # Unmasked on the master: IRQ 0 (PIT) and IRQ 4 (COM1); all else
        # masked, the slave entirely (bit set = masked).
        .set PIC1_MASK,     0xEE
        .set PIC2_MASK,     0xFF

        .set PIT_CH0,    0x40         # i8254 counter 0 (IRQ 0)
        .set PIT_MODE,   0x43         # i8254 control word
        .set PIT_CW_CH0_RATE, 0x34    # counter 0, lobyte/hibyte, mode 2, binary
        .set PIT_DIVISOR, 11932       # 1193182 Hz / 11932 = 100.0 Hz

        .set RTC_INDEX,  0x70         # MC146818 index (bit 7: NMI, left 0)
        .set RTC_DATA,   0x71
        .set RTC_SECONDS, 0x00
        .set RTC_MINUTES, 0x02
        .set RTC_HOURS,   0x04
        .set RTC_REG_A,   0x0A
        .set RTC_REG_A_UIP, 0x80      # update in progress: time regs unstable

        .set COM1,       0x3F8        # 16550 registers are COM1 + offset
        .set UART_THR,   0            # transmit holding (write, DLAB=0)
        .set UART_DLL,   0            # divisor latch low (DLAB=1)
        .set UART_IER,   1            # interrupt enable (DLAB=0)
        .set UART_DLM,   1            # divisor latch high (DLAB=1)
        .set UART_IIR,   2            # interrupt identification (read)
        .set UART_FCR,   2            # FIFO control (write)
        .set UART_LCR,   3
        .set UART_MCR,   4
        .set UART_LSR,   5
        .set UART_MSR,   6
        .set UART_RBR,   0            # receive buffer (read, DLAB=0)
        .set UART_LCR_DLAB, 0x80
        .set UART_LCR_8N1,  0x03
        .set UART_FCR_INIT, 0x07      # FIFO on, both FIFOs cleared
        .set UART_MCR_INIT, 0x0B      # DTR, RTS, OUT2 (OUT2 gates IRQ on a PC)
        .set UART_IER_THRI, 0x02      # interrupt when THR/FIFO empties
        .set UART_IIR_NO_INT, 0x01
        .set UART_IIR_ID,   0x0E      # cause bits
        .set UART_IIR_MSI,  0x00
        .set UART_IIR_THRI, 0x02
        .set UART_IIR_RDI,  0x04
        .set UART_IIR_RLSI, 0x06
        .set UART_IIR_CTI,  0x0C
        .set UART_FIFO_DEPTH, 16      # bytes written per THRE interrupt

        .set APIC_BASE,  0xFEE00000   # local APIC registers (MMIO)
        .set APIC_SVR,   0xF0         # spurious vector register
        .set APIC_LVT_LINT0, 0x350
        .set APIC_LVT_LINT1, 0x360
        .set APIC_SVR_INIT, 0x1FF     # APIC enabled, spurious vector 0xFF
        .set APIC_LINT0_EXTINT, 0x8700    # ExtINT, level: the i8259's INTR
        .set APIC_LINT1_NMI, 0x8400   # NMI, level
        .set CPUID_1_EDX_APIC, 0x200  # CPUID leaf 1: on-chip local APIC
        .set CR0_PE,     0x01
        .set GDT_FLAT_DATA, 0x08      # selector of gdt's flat data entry

# ---- Memory map (all below 640 KiB; DS = SS = 0 throughout) --------------
        .set IVT,        0x0000       # 256 vectors x (offset, segment)
        .set VAR_TICKS,  0x0500       # u32: timer interrupts seen
        .set VAR_STEP,   0x0504       # u32: last step done (= last line N)
        .set VAR_SUM,    0x0508       # u32: sum of the buffer's words
        .set VAR_HEAD,   0x050C       # u8: ring write index (main loop)
        .set VAR_TAIL,   0x050D       # u8: ring read index (COM1 handler)
        .set VAR_TXBUSY, 0x050E       # u8: 1 while THRE interrupt enabled
        .set RING,       0x0600       # 256-byte ring of bytes for COM1
        .set STACK_TOP,  0x8000       # stack grows down from here
        # The buffer: 64 pages of 4 KiB at 0x10000-0x4FFFF, page q at
        # segment BUF_SEG + q * 0x100, seen as 65536 little-endian u32 words
        # w[0..65535] (word i at physical 0x10000 + 4 * i).
        .set BUF_SEG,    0x1000
        .set BUF_PAGES,  64
        .set PAGE_SIZE,  4096
        .set PAGE_WORDS, 1024

# ---- The pattern: what step M writes (see guest/README.md) ---------------
# Step M (M >= 1) rewrites page q = (M - 1) mod 64; at start-up every page
# is written as by a step M = 0. The page's 1024 words are the next 1024
# outputs of Marsaglia's xorshift32 (shifts 13, 17, 5) from the seed
# (M * PAT_STEP) xor (q * PAT_PAGE), all mod 2^32. A seed of 0 gives a page
# of zeros, which is just as well defined.
        .set PAT_STEP,   0x9E3779B1
        .set PAT_PAGE,   0x85EBCA77

        .globl start
start:
        cli                           # no interrupts until the IVT is set
        cld
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $STACK_TOP, %sp
        call    vars_init
        call    apic_ext_int
        call    ivt_init
        call    pic_init
        call    pit_init
        call    uart_init
        call    buf_init
        movb    $PIC1_MASK, %al       # unmask IRQ 0 and IRQ 4 last
        outb    %al, $PIC1_DATA
        movb    $PIC2_MASK, %al
        outb    %al, $PIC2_DATA
        sti
        call    rtc_print

# The main loop. Steps are numbered from 1 and follow the ticks one for one:
# step N runs once tick N has been counted, so line N is printed for every N
# in order even if a step ever takes longer than a tick.
main_loop:
        cli                           # test and sleep without a lost wake-up
        movl    VAR_TICKS, %eax
        cmpl    VAR_STEP, %eax
        ja      1f
        sti                           # sti's shadow covers the hlt: an
        hlt                           # interrupt pending here ends the hlt
        jmp     main_loop
1:      sti
        incl    VAR_STEP
        movl    VAR_STEP, %eax
        call    step
        jmp     main_loop

# step: %eax = N (>= 1). Rewrites page (N - 1) mod 64 with step N's pattern,
# updates VAR_SUM, prints `tick N sum XXXXXXXX\r\n`.
step:
        pushl   %eax
        movl    %eax, %ebx
        imull   $PAT_STEP, %ebx, %ebx
        decl    %eax
        andw    $(BUF_PAGES - 1), %ax
        call    page_rewrite          # %edx = old page sum, %ebp = new
        movl    VAR_SUM, %eax
        subl    %edx, %eax
        addl    %ebp, %eax
        movl    %eax, VAR_SUM
        movw    $str_tick, %si
        call    puts
        popl    %eax
        call    put_dec32
        movw    $str_sum, %si
        call    puts
        movl    VAR_SUM, %eax
        movw    $8, %cx
        call    put_hex
        movw    $str_crlf, %si
        call    puts
        ret

# page_rewrite: %ax = page q (0..63), %ebx = M * PAT_STEP for the step M.
# Reads each old word of page q (summed into %edx) and replaces it by the
# pattern (summed into %ebp). Clobbers %eax, %ecx, %di; keeps %es.
page_rewrite:
        pushw   %es
        movw    %ax, %cx
        shlw    $8, %cx               # 4 KiB = 0x100 paragraphs
        addw    $BUF_SEG, %cx
        movw    %cx, %es
        movzwl  %ax, %ecx
        imull   $PAT_PAGE, %ecx, %ecx
        xorl    %ebx, %ecx            # %ecx: the xorshift32 state (seed)
        xorl    %edx, %edx
        xorl    %ebp, %ebp
        xorw    %di, %di
1:      movl    %es:(%di), %eax       # the old word
        addl    %eax, %edx
        movl    %ecx, %eax            # x ^= x << 13
        shll    $13, %eax
        xorl    %eax, %ecx
        movl    %ecx, %eax            # x ^= x >> 17
        shrl    $17, %eax
        xorl    %eax, %ecx
        movl    %ecx, %eax            # x ^= x << 5
        shll    $5, %eax
        xorl    %eax, %ecx
        movl    %ecx, %es:(%di)       # the new word
        addl    %ecx, %ebp
        addw    $4, %di
        cmpw    $PAGE_SIZE, %di
        jne     1b
        popw    %es
        ret

# ---- Initialisation -------------------------------------------------------

vars_init:
        xorl    %eax, %eax
        movl    %eax, VAR_TICKS
        movl    %eax, VAR_STEP
        movl    %eax, VAR_SUM
        movb    %al, VAR_HEAD
        movb    %al, VAR_TAIL
        movb    %al, VAR_TXBUSY
        ret

# apic_ext_int: routes the i8259's INTR to the core as a BIOS does. A pc
# CPU leaves reset with its local APIC enabled but every LVT entry masked,
# and QEMU then drops the PIC's INTR (apic_deliver_pic_intr sees LINT0
# masked). SeaBIOS's fix, copied here: software-enable the APIC (SVR bit 8)
# and set LINT0 to ExtINT, LINT1 to NMI ("virtual wire" mode). The APIC's
# registers are MMIO at 0xFEE00000, beyond real mode's 1 MiB, so FS gets a
# 4 GiB limit first ("unreal mode": the limit loaded in protected mode
# stays in FS's descriptor cache after the return to real mode).
# A CPU whose CPUID reports no local APIC (leaf 1, EDX bit 9) has INTR
# wired straight to the core: nothing to do there.
apic_ext_int:
        movl    $1, %eax
        cpuid
        testl   $CPUID_1_EDX_APIC, %edx
        jnz     1f
        ret
1:
        lgdtw   %cs:gdt_desc
        movl    %cr0, %eax
        orb     $CR0_PE, %al
        movl    %eax, %cr0            # protected mode, interrupts off
        movw    $GDT_FLAT_DATA, %bx
        movw    %bx, %fs              # FS: base 0, limit 4 GiB
        andb    $~CR0_PE, %al
        movl    %eax, %cr0            # back to real mode; FS keeps its limit
        xorw    %bx, %bx
        movw    %bx, %fs              # base 0 again (the limit is untouched)
        movl    $(APIC_BASE + APIC_SVR), %esi
        movl    $APIC_SVR_INIT, %eax
        movl    %eax, %fs:(%esi)
        movl    $(APIC_BASE + APIC_LVT_LINT0), %esi
        movl    $APIC_LINT0_EXTINT, %eax
        movl    %eax, %fs:(%esi)
        movl    $(APIC_BASE + APIC_LVT_LINT1), %esi
        movl    $APIC_LINT1_NMI, %eax
        movl    %eax, %fs:(%esi)
        ret

# ivt_init: every vector gets a handler in segment 0xF000 (this image).
# 0x00-0x1F (CPU exceptions, NMI): isr_fault, which stops the guest.
# 0x20-0x27: IRQ 0-7; 0x20 = isr_tick, 0x24 = isr_com1, the others
#            (masked, or spurious IRQ 7) isr_pic1: EOI to the master.
# 0x28-0x2F: IRQ 8-15 (all masked): isr_pic2, EOI to both.
# 0x30-0xFF: software interrupts, never raised: isr_none, a bare iret.
ivt_init:
        xorw    %di, %di
        movw    $isr_fault, %ax
        movw    $0x20, %cx
        call    ivt_fill
        movw    $isr_pic1, %ax
        movw    $8, %cx
        call    ivt_fill
        movw    $isr_pic2, %ax
        movw    $8, %cx
        call    ivt_fill
        movw    $isr_none, %ax
        movw    $(256 - 0x30), %cx
        call    ivt_fill
        movw    $isr_tick, IVT + 4 * (PIC1_VECTOR + 0)
        movw    $isr_com1, IVT + 4 * (PIC1_VECTOR + 4)
        ret

# ivt_fill: %cx vectors from %di (byte offset in the IVT) get 0xF000:%ax.
ivt_fill:
        movw    %ax, (%di)
        movw    $0xF000, 2(%di)
        addw    $4, %di
        loop    ivt_fill
        ret

# pic_init: the ICW1-ICW4 sequence on both i8259s; everything masked until
# start unmasks IRQ 0 and 4 (interrupts are off here anyway).
pic_init:
        movb    $PIC_ICW1_INIT, %al
        outb    %al, $PIC1_CMD
        outb    %al, $PIC2_CMD
        movb    $PIC1_VECTOR, %al     # ICW2: vector base
        outb    %al, $PIC1_DATA
        movb    $PIC2_VECTOR, %al
        outb    %al, $PIC2_DATA
        movb    $0x04, %al            # ICW3 master: slave on IRQ 2
        outb    %al, $PIC1_DATA
        movb    $0x02, %al            # ICW3 slave: its cascade identity
        outb    %al, $PIC2_DATA
        movb    $PIC_ICW4_8086, %al
        outb    %al, $PIC1_DATA
        outb    %al, $PIC2_DATA
        movb    $0xFF, %al
        outb    %al, $PIC1_DATA
        outb    %al, $PIC2_DATA
        ret

pit_init:
        movb    $PIT_CW_CH0_RATE, %al
        outb    %al, $PIT_MODE
        movw    $PIT_DIVISOR, %ax
        outb    %al, $PIT_CH0         # low byte, then high byte
        movb    %ah, %al
        outb    %al, $PIT_CH0
        ret

# uart_init: 115200 8N1, FIFOs on, no interrupt enabled yet (putc enables
# the THRE interrupt when it has something to send).
uart_init:
        movw    $(COM1 + UART_LCR), %dx
        movb    $UART_LCR_DLAB, %al
        outb    %al, %dx
        movw    $(COM1 + UART_DLL), %dx
        movb    $1, %al
        outb    %al, %dx
        movw    $(COM1 + UART_DLM), %dx
        xorb    %al, %al
        outb    %al, %dx
        movw    $(COM1 + UART_LCR), %dx
        movb    $UART_LCR_8N1, %al
        outb    %al, %dx
        movw    $(COM1 + UART_IER), %dx
        xorb    %al, %al
        outb    %al, %dx
        movw    $(COM1 + UART_FCR), %dx
        movb    $UART_FCR_INIT, %al
        outb    %al, %dx
        movw    $(COM1 + UART_MCR), %dx
        movb    $UART_MCR_INIT, %al
        outb    %al, %dx
        ret

# buf_init: every page written as by step 0; VAR_SUM = sum of all words.
buf_init:
        xorl    %ebx, %ebx            # 0 * PAT_STEP
        xorw    %si, %si
1:      movw    %si, %ax
        call    page_rewrite
        addl    %ebp, VAR_SUM
        incw    %si
        cmpw    $BUF_PAGES, %si
        jne     1b
        ret

# rtc_print: `rtc HH:MM:SS\r\n`. The registers are read once the update-in-
# progress flag is clear, and printed as two hex digits each: in the RTC's
# default BCD mode (register B bit 2 clear) that is the decimal time.
rtc_print:
1:      movb    $RTC_REG_A, %al
        outb    %al, $RTC_INDEX
        inb     $RTC_DATA, %al
        testb   $RTC_REG_A_UIP, %al
        jnz     1b
        movb    $RTC_HOURS, %al
        call    rtc_read
        movb    %al, %bh
        movb    $RTC_MINUTES, %al
        call    rtc_read
        movb    %al, %bl
        movb    $RTC_SECONDS, %al
        call    rtc_read
        movb    %al, %dl
        movw    $str_rtc, %si
        call    puts
        movb    %bh, %al
        call    put_hex2
        movb    $':', %al
        call    putc
        movb    %bl, %al
        call    put_hex2
        movb    $':', %al
        call    putc
        movb    %dl, %al
        call    put_hex2
        movw    $str_crlf, %si
        jmp     puts

# rtc_read: %al = register index in, value out.
rtc_read:
        outb    %al, $RTC_INDEX
        inb     $RTC_DATA, %al
        ret

# ---- Output through the ring ----------------------------------------------

# putc: queues the byte %al for COM1; waits (hlt) while the ring is full.
# Keeps every register. Called with interrupts enabled, returns so.
putc:
        pushw   %bx
        pushw   %dx
1:      cli
        movb    VAR_HEAD, %bl
        incb    %bl
        cmpb    VAR_TAIL, %bl
        jne     2f
        sti                           # full: the transmitter is running and
        hlt                           # its next THRE interrupt frees room
        jmp     1b
2:      decb    %bl
        xorb    %bh, %bh
        movb    %al, RING(%bx)
        incb    VAR_HEAD
        cmpb    $0, VAR_TXBUSY
        jne     3f
        movb    $1, VAR_TXBUSY        # start the transmitter: a 16550 raises
        pushw   %ax                   # THRE at once when THRI is enabled
        movw    $(COM1 + UART_IER), %dx    # while its THR is empty
        movb    $UART_IER_THRI, %al
        outb    %al, %dx
        popw    %ax
3:      sti
        popw    %dx
        popw    %bx
        ret

# puts: queues the NUL-terminated string at %cs:%si (strings live in this
# image). Advances %si.
puts:
        pushw   %ax
1:      movb    %cs:(%si), %al
        incw    %si
        testb   %al, %al
        jz      2f
        call    putc
        jmp     1b
2:      popw    %ax
        ret

# put_dec32: %eax as unsigned decimal, no leading zeros. Clobbers %eax.
put_dec32:
        pushl   %ebx
        pushl   %ecx
        pushl   %edx
        movl    $10, %ebx
        xorw    %cx, %cx
1:      xorl    %edx, %edx            # digits pushed least significant first
        divl    %ebx
        pushw   %dx
        incw    %cx
        testl   %eax, %eax
        jnz     1b
2:      popw    %ax
        addb    $'0', %al
        call    putc
        loop    2b
        popl    %edx
        popl    %ecx
        popl    %ebx
        ret

# put_hex2: %al as two lower-case hex digits.
put_hex2:
        pushw   %cx
        rorl    $8, %eax              # the byte to the top, as put_hex wants
        movw    $2, %cx
        call    put_hex
        popw    %cx
        ret

# put_hex: the top %cx nibbles of %eax, most significant first, lower case.
# Clobbers %eax, %cx.
put_hex:
1:      roll    $4, %eax
        pushl   %eax
        andb    $0x0F, %al
        addb    $'0', %al
        cmpb    $'9', %al
        jbe     2f
        addb    $('a' - '0' - 10), %al
2:      call    putc
        popl    %eax
        loop    1b
        ret

# ---- Interrupt handlers ---------------------------------------------------
# Each saves what it uses, sets DS = 0 itself (it may interrupt any code),
# and sends the EOI before iret.

# IRQ 0, the PIT at 100 Hz: count the tick. The main loop does the work.
isr_tick:
        pushw   %ax
        pushw   %ds
        xorw    %ax, %ax
        movw    %ax, %ds
        incl    VAR_TICKS
        movb    $PIC_OCW2_EOI, %al
        outb    %al, $PIC1_CMD
        popw    %ds
        popw    %ax
        iret

# IRQ 4, COM1: serve every pending cause as IIR reports it until none is
# left. THRE: move up to a FIFO's worth of bytes from the ring to THR; with
# the ring empty, disable THRE (putc enables it again).
isr_com1:
        pushw   %ax
        pushw   %bx
        pushw   %cx
        pushw   %dx
        pushw   %ds
        xorw    %ax, %ax
        movw    %ax, %ds
1:      movw    $(COM1 + UART_IIR), %dx
        inb     %dx, %al
        testb   $UART_IIR_NO_INT, %al
        jnz     9f
        andb    $UART_IIR_ID, %al
        cmpb    $UART_IIR_THRI, %al
        je      3f
        movw    $(COM1 + UART_LSR), %dx   # line status: read LSR clears it
        cmpb    $UART_IIR_RLSI, %al
        je      2f
        movw    $(COM1 + UART_MSR), %dx   # modem status: read MSR
        cmpb    $UART_IIR_MSI, %al
        je      2f
        movw    $(COM1 + UART_RBR), %dx   # received data: read and drop it
2:      inb     %dx, %al
        jmp     1b
3:      movw    $UART_FIFO_DEPTH, %cx
        movw    $(COM1 + UART_THR), %dx
4:      movb    VAR_TAIL, %bl
        cmpb    VAR_HEAD, %bl
        je      5f
        xorb    %bh, %bh
        movb    RING(%bx), %al
        outb    %al, %dx
        incb    VAR_TAIL
        loop    4b
        jmp     1b
5:      movw    $(COM1 + UART_IER), %dx   # ring empty: transmitter idle
        xorb    %al, %al
        outb    %al, %dx
        movb    $0, VAR_TXBUSY
        jmp     1b
9:      movb    $PIC_OCW2_EOI, %al
        outb    %al, $PIC1_CMD
        popw    %ds
        popw    %dx
        popw    %cx
        popw    %bx
        popw    %ax
        iret

# Masked master IRQs and spurious IRQ 7.
isr_pic1:
        pushw   %ax
        movb    $PIC_OCW2_EOI, %al
        outb    %al, $PIC1_CMD
        popw    %ax
        iret

# Slave IRQs (all masked): EOI to the slave, then to the master (IRQ 2).
isr_pic2:
        pushw   %ax
        movb    $PIC_OCW2_EOI, %al
        outb    %al, $PIC2_CMD
        outb    %al, $PIC1_CMD
        popw    %ax
        iret

isr_none:
        iret

# A CPU exception or NMI means the guest is broken: stop for good, so the
# output stops and a checker reports the missing lines.
isr_fault:
        cli
        hlt
        jmp     isr_fault

# ---- Strings (read through %cs) -------------------------------------------
str_rtc:  .asciz "rtc "
str_tick: .asciz "tick "
str_sum:  .asciz " sum "
str_crlf: .asciz "\r\n"

# ---- GDT for apic_ext_int's trip to protected mode -----------------------
        .balign 8
gdt:    .quad   0                     # the null descriptor
        .quad   0x00CF92000000FFFF    # 0x08: data, base 0, limit 4 GiB, r/w
gdt_end:
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   0xF0000 + gdt         # linear address: CS base + offset

# ---- Reset vector ----------------------------------------------------------
# The CPU starts at F000:FFF0 (physical 0xFFFFFFF0, the image's last 16
# bytes, also mapped at 0xFFFF0): a far jump reloads CS with base 0xF0000,
# where the pc machine maps this image below 1 MiB.
        .org    0xFFF0, 0xFF
reset_vector:
        ljmp    $0xF000, $start
        .org    0x10000, 0xFF
