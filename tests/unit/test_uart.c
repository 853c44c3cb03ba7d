// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for hypervisor/uart.c: the register sequences Linux's 8250
 * driver uses (autoconfig, startup, console write, interrupt handler),
 * FIFO behaviour and the interrupt line.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include "unit.h"
#include "../../hypervisor/uart.h"

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5,
       MSR = 6, SCR = 7 };

struct irq_log {
	int level;
	int calls;
	int rises;
};

static void log_irq(void *opaque, int level)
{
	struct irq_log *l = opaque;

	if (level && !l->level)
		l->rises++;
	l->level = level;
	l->calls++;
}

struct fixture {
	struct uart *u;
	int pipe_rd, pipe_wr;
	struct irq_log irq;
};

static void setup(struct fixture *fx)
{
	int p[2];

	memset(fx, 0, sizeof(*fx));
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fx->pipe_rd = p[0];
	fx->pipe_wr = p[1];
	fx->u = uart_create(p[1], log_irq, &fx->irq);
	CU_ASSERT_FATAL(fx->u != NULL);
}

static void teardown(struct fixture *fx)
{
	uart_destroy(fx->u);
	close(fx->pipe_rd);
	close(fx->pipe_wr);
}

static uint8_t rd(struct fixture *fx, unsigned int off)
{
	uint8_t v = 0x5A;

	uart_io(fx->u, off, false, &v);
	return v;
}

static void wr(struct fixture *fx, unsigned int off, uint8_t v)
{
	uart_io(fx->u, off, true, &v);
}

/* Bytes the UART sent to its output fd since the last call. */
static size_t drain_output(struct fixture *fx, char *buf, size_t len)
{
	ssize_t n = read(fx->pipe_rd, buf, len);

	return n > 0 ? (size_t)n : 0;
}

/* ------------------------------------------------------------ tests */
static void test_reset_state(void)
{
	struct fixture fx;
	uint8_t v = 0;

	setup(&fx);
	CU_ASSERT_EQUAL(rd(&fx, IER), 0);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x01);
	CU_ASSERT_EQUAL(rd(&fx, LCR), 0);
	CU_ASSERT_EQUAL(rd(&fx, MCR), 0);
	CU_ASSERT_EQUAL(rd(&fx, LSR), 0x60);
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0xB0);	/* DCD, DSR, CTS; no deltas */
	CU_ASSERT_EQUAL(rd(&fx, SCR), 0);
	CU_ASSERT_EQUAL(fx.irq.calls, 0);
	uart_io(fx.u, 8, false, &v);
	CU_ASSERT_EQUAL(v, 0xFF);
	v = 0x12;
	uart_io(fx.u, 9, true, &v);		/* ignored */
	CU_ASSERT(uart_can_receive(fx.u));
	teardown(&fx);
}

/* drivers/tty/serial/8250/8250_port.c autoconfig() and the 16550A
 * variant probes: must end as a plain 16550A. */
static void test_linux_autoconfig(void)
{
	struct fixture fx;
	uint8_t save, save_mcr, save_lcr, s1, s2;
	char out[64];
	int count;

	setup(&fx);
	/* IER existence test */
	save = rd(&fx, IER);
	wr(&fx, IER, 0);
	s1 = rd(&fx, IER) & 0x0F;
	wr(&fx, IER, 0x0F);
	s2 = rd(&fx, IER) & 0x0F;
	wr(&fx, IER, save);
	CU_ASSERT_EQUAL(s1, 0);
	CU_ASSERT_EQUAL(s2, 0x0F);

	/* loopback test */
	save_mcr = rd(&fx, MCR);
	save_lcr = rd(&fx, LCR);
	wr(&fx, MCR, 0x10 | 0x0A);
	CU_ASSERT_EQUAL(rd(&fx, MSR) & 0xF0, 0x90);
	wr(&fx, MCR, save_mcr);

	/* FIFO type via IIR bits 7:6 */
	wr(&fx, LCR, 0xBF);
	wr(&fx, 2, 0);				/* EFR (FCR on a 16550) */
	wr(&fx, LCR, 0);
	wr(&fx, FCR, 0x01);
	CU_ASSERT_EQUAL(rd(&fx, IIR) >> 6, 3);	/* 16550A */

	/* autoconfig_16550a(): no EFR under either LCR magic */
	wr(&fx, LCR, 0x80);
	CU_ASSERT(rd(&fx, 2) != 0);
	wr(&fx, LCR, 0xBF);
	CU_ASSERT(rd(&fx, 2) != 0);
	/* not a NatSemi: "EXCR1" does not follow MCR LOOP */
	wr(&fx, LCR, 0);
	s1 = rd(&fx, MCR);
	wr(&fx, LCR, 0xE0);
	s2 = rd(&fx, 2);
	CU_ASSERT_EQUAL((s1 ^ s2) & 0x10, 0);
	wr(&fx, LCR, 0);
	wr(&fx, MCR, s1 ^ 0x10);
	wr(&fx, LCR, 0xE0);
	s2 = rd(&fx, 2);
	wr(&fx, LCR, 0);
	wr(&fx, MCR, s1);
	CU_ASSERT_EQUAL((s1 ^ s2) & 0x10, 0);
	/* not a 16750: no 64-byte bit in IIR, with or without DLAB */
	wr(&fx, LCR, 0);
	wr(&fx, FCR, 0x21);
	s1 = rd(&fx, IIR) >> 5;
	wr(&fx, FCR, 0x01);
	wr(&fx, LCR, 0x80);
	wr(&fx, FCR, 0x21);
	s2 = rd(&fx, IIR) >> 5;
	wr(&fx, FCR, 0x01);
	wr(&fx, LCR, 0);
	CU_ASSERT_EQUAL(s1, 6);
	CU_ASSERT_EQUAL(s2, 6);
	/* not an XScale: IER bit 6 (UUE) does not stick */
	save = rd(&fx, IER);
	wr(&fx, IER, save | 0x40);
	CU_ASSERT_EQUAL(rd(&fx, IER) & 0x40, 0);
	wr(&fx, IER, save);

	/* size_fifo(): 16 bytes in loopback, then overrun */
	wr(&fx, FCR, 0x07);
	wr(&fx, MCR, 0x10);
	wr(&fx, LCR, 0x80);
	wr(&fx, RBR, 0x01);
	wr(&fx, IER, 0x00);
	wr(&fx, LCR, 0x03);
	for (int i = 0; i < 256; i++)
		wr(&fx, RBR, (uint8_t)i);
	CU_ASSERT(!uart_can_receive(fx.u));	/* loopback: host input off */
	for (count = 0; (rd(&fx, LSR) & 0x01) && count < 256; count++)
		CU_ASSERT_EQUAL(rd(&fx, RBR), count);
	CU_ASSERT_EQUAL(count, 16);
	wr(&fx, MCR, save_mcr);
	wr(&fx, LCR, save_lcr);
	/* loopback traffic never reached the output */
	CU_ASSERT_EQUAL(drain_output(&fx, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	teardown(&fx);
}

static void test_scratch(void)
{
	struct fixture fx;

	setup(&fx);
	wr(&fx, SCR, 0x55);
	CU_ASSERT_EQUAL(rd(&fx, SCR), 0x55);
	wr(&fx, SCR, 0xAA);
	CU_ASSERT_EQUAL(rd(&fx, SCR), 0xAA);
	wr(&fx, LCR, 0x80);			/* DLAB does not hide SCR */
	CU_ASSERT_EQUAL(rd(&fx, SCR), 0xAA);
	teardown(&fx);
}

static void test_transmit(void)
{
	struct fixture fx;
	char out[64];
	size_t n;

	setup(&fx);
	wr(&fx, LCR, 0x03);
	wr(&fx, RBR, 'h');
	wr(&fx, RBR, 'i');
	wr(&fx, RBR, '\n');
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x60, 0x60);	/* THRE, TEMT */
	n = drain_output(&fx, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(n == 3 && !memcmp(out, "hi\n", 3));
	/* with DLAB set offset 0 is DLL, not THR */
	wr(&fx, LCR, 0x83);
	wr(&fx, RBR, 'X');
	wr(&fx, LCR, 0x03);
	CU_ASSERT_EQUAL(drain_output(&fx, out, sizeof(out)), 0);
	teardown(&fx);

	/* out_fd < 0: bytes are discarded */
	{
		struct uart *u = uart_create(-1, NULL, NULL);
		uint8_t v = 'x';

		CU_ASSERT_FATAL(u != NULL);
		uart_io(u, RBR, true, &v);
		uart_io(u, LSR, false, &v);
		CU_ASSERT_EQUAL(v, 0x60);
		uart_destroy(u);
	}
}

static void test_divisor_latch(void)
{
	struct fixture fx;

	setup(&fx);
	wr(&fx, IER, 0x05);
	wr(&fx, LCR, 0x83);
	wr(&fx, RBR, 0x0C);			/* DLL */
	wr(&fx, IER, 0x00);			/* DLM */
	CU_ASSERT_EQUAL(rd(&fx, RBR), 0x0C);
	CU_ASSERT_EQUAL(rd(&fx, IER), 0x00);
	CU_ASSERT_EQUAL(rd(&fx, LCR), 0x83);
	wr(&fx, LCR, 0x03);
	CU_ASSERT_EQUAL(rd(&fx, IER), 0x05);	/* untouched by DLM */
	CU_ASSERT_EQUAL(rd(&fx, RBR), 0x00);	/* empty RBR, not DLL */
	wr(&fx, LCR, 0x80);
	wr(&fx, IER, 0x01);
	CU_ASSERT_EQUAL(rd(&fx, RBR), 0x0C);
	CU_ASSERT_EQUAL(rd(&fx, IER), 0x01);
	wr(&fx, LCR, 0x03);
	teardown(&fx);
}

static void test_thre_interrupt(void)
{
	struct fixture fx;
	uint8_t iir1, iir2;
	char out[8];

	setup(&fx);
	wr(&fx, LCR, 0x03);
	wr(&fx, MCR, 0x0B);			/* DTR, RTS, OUT2 */
	CU_ASSERT_EQUAL(fx.irq.level, 0);

	/* enabling THRI with THR empty raises THRE at once */
	wr(&fx, IER, 0x02);
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x02);	/* FIFOs off: no 0xC0 */
	CU_ASSERT_EQUAL(fx.irq.level, 0);	/* IIR read cleared it */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x01);

	/* a write re-arms it once the byte has gone */
	wr(&fx, RBR, 'a');
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x02);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(drain_output(&fx, out, sizeof(out)), 1);

	/* disabling THRI drops the line; a pending THRE survives masking */
	wr(&fx, RBR, 'b');
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	wr(&fx, IER, 0);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x01);

	/* serial8250_do_startup(): THRE re-asserted after IER 0 -> THRI */
	wr(&fx, IER, 0x02);
	iir1 = rd(&fx, IIR);
	wr(&fx, IER, 0);
	wr(&fx, IER, 0x02);
	iir2 = rd(&fx, IIR);
	wr(&fx, IER, 0);
	CU_ASSERT_EQUAL(iir1 & 0x01, 0);
	CU_ASSERT_EQUAL(iir2 & 0x01, 0);	/* no UART_BUG_THRE */
	/* TXEN test: LSR TEMT with IIR showing the interrupt */
	wr(&fx, IER, 0x02);
	CU_ASSERT(rd(&fx, LSR) & 0x40);
	CU_ASSERT_EQUAL(rd(&fx, IIR) & 0x0F, 0x02);	/* no UART_BUG_TXEN */
	wr(&fx, IER, 0);
	/* rewriting IER with THRI already set does not re-raise it */
	wr(&fx, IER, 0x02);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x02);
	wr(&fx, IER, 0x03);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x01);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	teardown(&fx);
}

static void test_iir_priorities(void)
{
	struct fixture fx;
	const uint8_t c = 'k';

	setup(&fx);
	wr(&fx, FCR, 0x01);			/* FIFO on, trigger 1 */
	wr(&fx, MCR, 0x08);			/* OUT2 */
	wr(&fx, IER, 0x0F);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC2);	/* THRE */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC1);

	/* RX data outranks THRE */
	wr(&fx, RBR, 'x');			/* THRE pending again */
	CU_ASSERT_EQUAL(uart_receive(fx.u, &c, 1), 1);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC4);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC4);	/* RX is not cleared by IIR */
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x01, 0x01);
	CU_ASSERT_EQUAL(rd(&fx, RBR), 'k');
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC2);	/* THRE still pending */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC1);

	/* modem status is the lowest */
	wr(&fx, MCR, 0x08 | 0x01);		/* DTR: no loopback, no delta */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC1);
	wr(&fx, MCR, 0x18);			/* loopback: lines change */
	wr(&fx, MCR, 0x08);			/* and back */
	wr(&fx, RBR, 'y');			/* THRE too */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC2);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC0);	/* MSI */
	CU_ASSERT(rd(&fx, MSR) & 0x0F);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC1);	/* MSR read cleared it */

	/* receiver line status outranks RX data: overrun in loopback */
	wr(&fx, MCR, 0x18);
	for (int i = 0; i < 17; i++)
		wr(&fx, RBR, (uint8_t)i);
	(void)rd(&fx, MSR);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC6);
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x03, 0x03);	/* OE, DR */
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x02, 0);	/* OE read-cleared */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC4);
	teardown(&fx);
}

static void test_rx_fifo(void)
{
	struct fixture fx;
	uint8_t buf[40];
	size_t n;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)('A' + i);
	setup(&fx);

	/* FIFOs off (reset): a single holding register */
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, 3), 1);
	CU_ASSERT(!uart_can_receive(fx.u));
	CU_ASSERT_EQUAL(rd(&fx, LSR), 0x61);
	CU_ASSERT_EQUAL(rd(&fx, RBR), 'A');
	CU_ASSERT_EQUAL(rd(&fx, LSR), 0x60);
	CU_ASSERT(uart_can_receive(fx.u));

	/* FIFOs on: 16 bytes, then back-pressure (nothing dropped) */
	wr(&fx, FCR, 0x07);
	n = uart_receive(fx.u, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, UART_FIFO_SIZE);
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf + n, sizeof(buf) - n), 0);
	CU_ASSERT(!uart_can_receive(fx.u));
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x03, 0x01);	/* no overrun */
	for (size_t i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rd(&fx, RBR), buf[i]);
	CU_ASSERT(uart_can_receive(fx.u));
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf + n, sizeof(buf) - n), 4);
	for (size_t i = 4; i < 20; i++)			/* order kept */
		CU_ASSERT_EQUAL(rd(&fx, RBR), buf[i]);
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x01, 0);
	CU_ASSERT_EQUAL(rd(&fx, RBR), buf[19]);		/* stale when empty */

	/* FCR clear-RX empties it; toggling the enable does too */
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, 5), 5);
	wr(&fx, FCR, 0x03);
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x01, 0);
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, 5), 5);
	wr(&fx, FCR, 0x00);
	CU_ASSERT_EQUAL(rd(&fx, LSR) & 0x01, 0);
	CU_ASSERT_EQUAL(rd(&fx, IIR) & 0xC0, 0);	/* FIFO bits off */

	/* trigger level 14: timeout id below it, data id at it */
	wr(&fx, FCR, 0xC1);
	wr(&fx, IER, 0x01);
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, 5), 5);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xCC);
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, 9), 9);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC4);
	(void)rd(&fx, RBR);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xCC);
	teardown(&fx);
}

static void test_irq_line(void)
{
	struct fixture fx;
	const uint8_t c = 'z';

	setup(&fx);
	wr(&fx, FCR, 0x01);
	wr(&fx, IER, 0x01);
	CU_ASSERT_EQUAL(uart_receive(fx.u, &c, 1), 1);
	/* pending but OUT2 clear: the line stays low (PC gating) */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC4);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(fx.irq.calls, 0);
	wr(&fx, MCR, 0x08);
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	CU_ASSERT_EQUAL(uart_irq_level(fx.u), 1);
	CU_ASSERT_EQUAL(fx.irq.calls, 1);
	/* unrelated accesses do not call back */
	(void)rd(&fx, LSR);
	(void)rd(&fx, IIR);
	wr(&fx, SCR, 1);
	CU_ASSERT_EQUAL(fx.irq.calls, 1);
	/* servicing lowers it; new data makes a new rising edge */
	(void)rd(&fx, RBR);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(uart_receive(fx.u, &c, 1), 1);
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	CU_ASSERT_EQUAL(fx.irq.rises, 2);
	/* a second byte while still high: no extra call */
	CU_ASSERT_EQUAL(uart_receive(fx.u, &c, 1), 1);
	CU_ASSERT_EQUAL(fx.irq.calls, 3);
	/* loopback disconnects the line */
	wr(&fx, MCR, 0x18);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(uart_receive(fx.u, &c, 1), 0);	/* input off */
	wr(&fx, MCR, 0x08);
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	/* reset lowers it */
	uart_reset(fx.u);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(rd(&fx, LSR), 0x60);
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0x01);
	teardown(&fx);
}

/* Linux's interrupt handler loop: with the line edge-triggered, every
 * event that happens after the handler saw "no interrupt" must produce
 * a new rising edge. */
static void test_handler_loop_edges(void)
{
	struct fixture fx;
	uint8_t data[5] = { '1', '2', '3', '4', '5' };
	char out[64];
	int rises;

	setup(&fx);
	wr(&fx, LCR, 0x03);
	wr(&fx, FCR, 0x81);			/* trigger 8 */
	wr(&fx, MCR, 0x0B);
	wr(&fx, IER, 0x05);			/* RLSI | RDI */
	CU_ASSERT_EQUAL(uart_receive(fx.u, data, 5), 5);
	CU_ASSERT_EQUAL(fx.irq.rises, 1);
	/* handler: IIR, drain RX while DR, start TX (IER |= THRI) */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xCC);
	while (rd(&fx, LSR) & 0x01)
		(void)rd(&fx, RBR);
	wr(&fx, IER, 0x07);
	rises = fx.irq.rises;
	CU_ASSERT_EQUAL(rises, 2);		/* THRE: new edge */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC2);
	for (int i = 0; i < 3; i++)
		wr(&fx, RBR, (uint8_t)('a' + i));
	wr(&fx, IER, 0x05);			/* nothing more: stop TX */
	CU_ASSERT_EQUAL(rd(&fx, IIR), 0xC1);
	CU_ASSERT_EQUAL(fx.irq.level, 0);
	CU_ASSERT_EQUAL(drain_output(&fx, out, sizeof(out)), 3);
	/* after the handler: a key press is a fresh edge */
	CU_ASSERT_EQUAL(uart_receive(fx.u, data, 1), 1);
	CU_ASSERT_EQUAL(fx.irq.level, 1);
	CU_ASSERT(fx.irq.rises > rises);
	teardown(&fx);
}

static void test_msr_loopback(void)
{
	struct fixture fx;

	setup(&fx);
	wr(&fx, MCR, 0x10);			/* loop, all outputs off */
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0x0B);	/* CTS/DSR/DCD fell */
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0x00);	/* deltas read-cleared */
	wr(&fx, MCR, 0x11);			/* DTR -> DSR */
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0x22);
	wr(&fx, MCR, 0x12);			/* RTS -> CTS */
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0x13);
	wr(&fx, MCR, 0x14);			/* OUT1 -> RI */
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0x41);
	wr(&fx, MCR, 0x18);			/* OUT2 -> DCD; RI fell: TERI */
	CU_ASSERT_EQUAL(rd(&fx, MSR), 0x8C);
	wr(&fx, MCR, 0x1F & ~0x10);		/* loop off: idle lines */
	CU_ASSERT_EQUAL(rd(&fx, MSR) & 0xF0, 0xB0);
	CU_ASSERT_EQUAL(rd(&fx, MCR), 0x0F);
	wr(&fx, MCR, 0xFF);			/* bits 5-7 do not exist */
	CU_ASSERT_EQUAL(rd(&fx, MCR), 0x1F);
	teardown(&fx);
}

struct reader_arg {
	struct fixture *fx;
	size_t total;
	size_t got;
	bool in_order;
};

static void *guest_reader(void *p)
{
	struct reader_arg *a = p;
	uint8_t v;

	while (a->got < a->total) {
		uart_io(a->fx->u, LSR, false, &v);
		if (!(v & 0x01)) {
			sched_yield();
			continue;
		}
		uart_io(a->fx->u, RBR, false, &v);
		if (v != (uint8_t)(a->got * 31 + 7))
			a->in_order = false;
		a->got++;
	}
	return NULL;
}

/* An input thread feeding through uart_receive/uart_wait_can_receive
 * while a "vCPU" thread drains: every byte arrives, in order. */
static void test_threads(void)
{
	struct fixture fx;
	struct reader_arg a = { .fx = &fx, .total = 20000, .in_order = true };
	pthread_t t;
	size_t sent = 0;
	uint8_t buf[256];

	setup(&fx);
	wr(&fx, FCR, 0x01);
	wr(&fx, MCR, 0x0B);
	wr(&fx, IER, 0x01);
	/* nobody draining: the wait times out */
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, 0), 0);
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(uart_receive(fx.u, buf, UART_FIFO_SIZE),
			UART_FIFO_SIZE);
	CU_ASSERT(!uart_wait_can_receive(fx.u, 10));
	wr(&fx, FCR, 0x03);			/* empty it again */
	CU_ASSERT(uart_wait_can_receive(fx.u, 0));

	CU_ASSERT_FATAL(pthread_create(&t, NULL, guest_reader, &a) == 0);
	while (sent < a.total) {
		size_t n = a.total - sent, done;

		if (n > sizeof(buf))
			n = sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((sent + i) * 31 + 7);
		done = uart_receive(fx.u, buf, n);
		sent += done;
		if (done < n && !uart_wait_can_receive(fx.u, 5000))
			break;
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(sent, a.total);
	CU_ASSERT_EQUAL(a.got, a.total);
	CU_ASSERT(a.in_order);
	teardown(&fx);
}

static const struct unit_test uart_tests[] = {
	{ "reset state", test_reset_state },
	{ "Linux autoconfig probes a 16550A", test_linux_autoconfig },
	{ "scratch register", test_scratch },
	{ "THR goes to the output fd", test_transmit },
	{ "divisor latch (DLAB)", test_divisor_latch },
	{ "THRE interrupt: IER enable, write, startup tests",
	  test_thre_interrupt },
	{ "IIR priorities: RLS > RX > THRE > MSI", test_iir_priorities },
	{ "RX FIFO fill, drain, back-pressure, triggers", test_rx_fifo },
	{ "interrupt line: OUT2 gating, edges, callback on change",
	  test_irq_line },
	{ "handler loop leaves no lost edge", test_handler_loop_edges },
	{ "MSR and loopback wiring", test_msr_loopback },
	{ "input thread and vCPU thread", test_threads },
	{ NULL, NULL },
};

int unit_register_uart(void)
{
	return unit_add_suite("uart", uart_tests);
}
