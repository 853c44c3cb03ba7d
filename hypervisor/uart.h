/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * 16550A UART (COM1: HVIS_PORT_COM1, 8 ports, IRQ HVIS_IRQ_COM1).
 *
 * What the guest sees: a 16550A with 16-byte FIFOs that Linux's 8250
 * autoconfig identifies as such (IER probe, MCR loopback test, FIFO bits in
 * IIR; no EFR, no 64-byte mode, no UUE bit). Transmission is instantaneous:
 * a THR write goes straight to the output fd and LSR always shows THRE and
 * TEMT. Received bytes wait in a 16-byte FIFO (1 byte with FIFOs disabled);
 * the "received data" interrupt is raised at the FCR trigger level and the
 * "character timeout" interrupt (IIR 0x0C) at once for fewer bytes, so a
 * single typed key interrupts without a timer. Loopback (MCR bit 4) routes
 * THR to the receive FIFO and MCR's DTR/RTS/OUT1/OUT2 to DSR/CTS/RI/DCD;
 * otherwise the modem inputs read DCD|DSR|CTS asserted, RI off. Overrun
 * (LSR.OE) can only happen in loopback: host input is flow-controlled.
 *
 * Interrupt line: the level is "an enabled interrupt is pending (IIR bit 0
 * clear) and MCR.OUT2 is set and loopback is off" — OUT2 gates the IRQ to
 * the interrupt controller as on PC hardware (Linux sets it when it opens
 * the port). set_irq(opaque, level) is called whenever that level changes
 * (and only then), with the UART's lock held, in the order of the changes.
 * The caller passes it through as a level: KVM_IRQ_LINE(HVIS_IRQ_COM1,
 * level). The ISA pin is edge-triggered on the PIC/IOAPIC, so each
 * 0 -> 1 transition is one interrupt; the line drops as soon as the guest
 * has serviced everything (reads IIR/LSR/RBR/MSR, writes THR/IER), so a new
 * event after that makes a new edge and none is lost. Do not pulse the line
 * or ignore the 0s: an edge pin that is left high never interrupts again.
 *
 * Threads: every function takes the UART's mutex, so vCPU threads
 * (uart_io) and an input thread (uart_receive / uart_wait_can_receive) may
 * run concurrently. set_irq runs under that mutex: it must not call back
 * into the UART. The output write also happens under it (ordering); a
 * blocking out_fd therefore stalls the writing vCPU when the reader is
 * slow (backpressure, like a real serial line). With a non-blocking out_fd
 * bytes that would block are dropped.
 */
#ifndef HVIS_HV_UART_H
#define HVIS_HV_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register offsets from the base port. */
#define UART_REG_RBR_THR	0	/* DLAB=1: DLL */
#define UART_REG_IER		1	/* DLAB=1: DLM */
#define UART_REG_IIR_FCR	2
#define UART_REG_LCR		3
#define UART_REG_MCR		4
#define UART_REG_LSR		5
#define UART_REG_MSR		6
#define UART_REG_SCR		7
#define UART_NR_PORTS		8

#define UART_FIFO_SIZE		16

struct uart;

/*
 * @out_fd: where transmitted bytes go (not closed by uart_destroy; < 0 to
 * discard). @set_irq: interrupt line callback, may be NULL. Returns NULL
 * with errno set on failure. The UART starts in the power-on reset state.
 */
struct uart *uart_create(int out_fd, void (*set_irq)(void *opaque, int level),
			 void *opaque);
void uart_destroy(struct uart *u);

/* Back to the power-on state (VM reset); lowers the line if it was up. */
void uart_reset(struct uart *u);

/*
 * One byte-wide guest access at @offset (port - base, 0..7; larger values
 * are ignored, reads return 0xFF). For a read, *@data receives the value;
 * for a write, *@data is the value written. A wider access (inw/inl) is
 * one call per byte at offset, offset + 1, ...
 */
void uart_io(struct uart *u, unsigned int offset, bool is_write,
	     uint8_t *data);

/*
 * Host input (the caller's thread reading stdin or a pty): queue up to
 * @len bytes in the receive FIFO. Returns how many were taken (0 when the
 * FIFO is full or the UART is in loopback); keep the rest and offer them
 * again later: nothing is dropped.
 */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);

/* True if uart_receive would take at least one byte now. */
bool uart_can_receive(struct uart *u);

/*
 * Block until uart_can_receive() would be true or @timeout_ms elapses
 * (< 0: no timeout). Returns uart_can_receive(). Lets the input thread stop
 * reading its fd while the guest is not draining the FIFO.
 */
bool uart_wait_can_receive(struct uart *u, int timeout_ms);

/* Current level of the interrupt line (as last passed to set_irq). */
int uart_irq_level(struct uart *u);

#endif /* HVIS_HV_UART_H */
