// SPDX-License-Identifier: GPL-2.0-only
/*
 * 16550A UART emulation for COM1. Register semantics follow the
 * PC16550D datasheet; see uart.h for what is modelled and how the
 * interrupt line behaves.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uart.h"

/* IER */
#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* transmitter holding register empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */
#define IER_MASK	0x0F	/* bits 4-7 read as 0 on a 16550A */

/* IIR */
#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_CTI		0x0C	/* character timeout */
#define IIR_FIFO_ON	0xC0

/* FCR */
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define FCR_DMA		0x08
#define FCR_TRIG_MASK	0xC0
#define FCR_KEEP	(FCR_ENABLE | FCR_DMA | FCR_TRIG_MASK)

/* LCR */
#define LCR_DLAB	0x80

/* MCR */
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1F

/* LSR */
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_PE		0x04
#define LSR_FE		0x08
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRORS	(LSR_OE | LSR_PE | LSR_FE | LSR_BI)

/* MSR */
#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_LINES_IDLE	(MSR_DCD | MSR_DSR | MSR_CTS)

#define RESET_DIVISOR	1	/* 115200 baud with the 1.8432 MHz clock */

struct uart {
	pthread_mutex_t lock;
	pthread_cond_t room;		/* signalled when RX FIFO space frees */
	int out_fd;
	void (*set_irq)(void *opaque, int level);
	void *opaque;
	int irq_level;

	uint8_t rx[UART_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	uint8_t rbr_last;		/* what RBR reads when empty */

	uint8_t ier, fcr, lcr, mcr, scr;
	uint8_t dll, dlm;
	uint8_t lsr_err;		/* latched OE/PE/FE/BI, cleared by LSR read */
	uint8_t msr_lines;		/* CTS/DSR/RI/DCD as the guest sees them */
	uint8_t msr_delta;		/* DCTS/DDSR/TERI/DDCD */
	bool thr_ipending;		/* THRE interrupt pending */
};

/* ------------------------------------------------------------ state */
static bool fifo_on(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned int rx_capacity(const struct uart *u)
{
	return fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct uart *u)
{
	static const unsigned int level[4] = { 1, 4, 8, 14 };

	return level[(u->fcr & FCR_TRIG_MASK) >> 6];
}

static void rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

static bool rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_count >= rx_capacity(u))
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = c;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart *u)
{
	if (u->rx_count) {
		u->rbr_last = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
		pthread_cond_broadcast(&u->room);
	}
	return u->rbr_last;
}

/* Identification of the highest-priority pending, enabled interrupt. */
static uint8_t compute_iir(const struct uart *u)
{
	uint8_t id = IIR_NO_INT;

	if ((u->ier & IER_RLSI) && (u->lsr_err & LSR_ERRORS))
		id = IIR_RLSI;
	else if ((u->ier & IER_RDI) && u->rx_count)
		id = fifo_on(u) && u->rx_count < rx_trigger(u) ?
		     IIR_CTI : IIR_RDI;
	else if ((u->ier & IER_THRI) && u->thr_ipending)
		id = IIR_THRI;
	else if ((u->ier & IER_MSI) && u->msr_delta)
		id = IIR_MSI;
	return id | (fifo_on(u) ? IIR_FIFO_ON : 0);
}

static void update_irq(struct uart *u)
{
	int level = !(compute_iir(u) & IIR_NO_INT) &&
		    (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->set_irq)
		u->set_irq(u->opaque, level);
}

/* Recompute the modem inputs after an MCR change; latch the deltas. */
static void update_modem_lines(struct uart *u)
{
	uint8_t lines, diff;

	if (u->mcr & MCR_LOOP) {
		lines = 0;
		if (u->mcr & MCR_DTR)
			lines |= MSR_DSR;
		if (u->mcr & MCR_RTS)
			lines |= MSR_CTS;
		if (u->mcr & MCR_OUT1)
			lines |= MSR_RI;
		if (u->mcr & MCR_OUT2)
			lines |= MSR_DCD;
	} else {
		lines = MSR_LINES_IDLE;
	}
	diff = lines ^ u->msr_lines;
	if (diff & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (diff & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if (diff & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	if ((u->msr_lines & MSR_RI) && !(lines & MSR_RI))
		u->msr_delta |= MSR_TERI;
	u->msr_lines = lines;
}

static void reset_locked(struct uart *u)
{
	rx_clear(u);
	u->rbr_last = 0;
	u->ier = 0;
	u->fcr = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->scr = 0;
	u->dll = RESET_DIVISOR & 0xFF;
	u->dlm = RESET_DIVISOR >> 8;
	u->lsr_err = 0;
	u->msr_lines = MSR_LINES_IDLE;
	u->msr_delta = 0;
	u->thr_ipending = false;
	pthread_cond_broadcast(&u->room);
	update_irq(u);
}

/* ------------------------------------------------------------ transmit */
static void output_byte(struct uart *u, uint8_t c)
{
	if (u->out_fd < 0)
		return;
	for (;;) {
		ssize_t n = write(u->out_fd, &c, 1);

		if (n == 1 || (n < 0 && errno != EINTR))
			return;	/* sent, or EAGAIN/EIO/EPIPE: dropped */
	}
}

static void transmit(struct uart *u, uint8_t c)
{
	u->thr_ipending = false;	/* THR written */
	if (u->mcr & MCR_LOOP) {
		if (!rx_push(u, c))
			u->lsr_err |= LSR_OE;
	} else {
		output_byte(u, c);
	}
	/* The byte left THR (and the shift register) at once. */
	u->thr_ipending = true;
}

/* ------------------------------------------------------------ registers */
static uint8_t reg_read(struct uart *u, unsigned int off)
{
	uint8_t v;

	switch (off) {
	case UART_REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		return rx_pop(u);
	case UART_REG_IER:
		if (u->lcr & LCR_DLAB)
			return u->dlm;
		return u->ier;
	case UART_REG_IIR_FCR:
		v = compute_iir(u);
		/* Reading IIR while it reports THRE clears that source. */
		if ((v & 0x0F) == IIR_THRI)
			u->thr_ipending = false;
		return v;
	case UART_REG_LCR:
		return u->lcr;
	case UART_REG_MCR:
		return u->mcr;
	case UART_REG_LSR:
		v = (u->rx_count ? LSR_DR : 0) | u->lsr_err | LSR_THRE |
		    LSR_TEMT;
		u->lsr_err = 0;
		return v;
	case UART_REG_MSR:
		v = u->msr_lines | u->msr_delta;
		u->msr_delta = 0;
		return v;
	case UART_REG_SCR:
		return u->scr;
	default:
		return 0xFF;
	}
}

static void reg_write(struct uart *u, unsigned int off, uint8_t v)
{
	uint8_t old;

	switch (off) {
	case UART_REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case UART_REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		old = u->ier;
		u->ier = v & IER_MASK;
		/* Enabling THRI while THR is empty (always, here) raises the
		 * THRE interrupt; Linux's THRE and TXEN tests rely on it. */
		if ((u->ier & IER_THRI) && !(old & IER_THRI))
			u->thr_ipending = true;
		break;
	case UART_REG_IIR_FCR:
		/* Changing the enable bit resets the FIFOs. */
		if ((v ^ u->fcr) & FCR_ENABLE)
			rx_clear(u);
		if (!(v & FCR_ENABLE)) {
			u->fcr = 0;
			break;
		}
		if (v & FCR_CLEAR_RX)
			rx_clear(u);
		/* FCR_CLEAR_TX: the transmitter is always empty. */
		u->fcr = v & FCR_KEEP;
		pthread_cond_broadcast(&u->room);
		break;
	case UART_REG_LCR:
		u->lcr = v;
		break;
	case UART_REG_MCR:
		u->mcr = v & MCR_MASK;
		update_modem_lines(u);
		pthread_cond_broadcast(&u->room);	/* loopback may end */
		break;
	case UART_REG_SCR:
		u->scr = v;
		break;
	default:	/* LSR, MSR: factory test / read-only */
		break;
	}
}

/* ------------------------------------------------------------ API */
struct uart *uart_create(int out_fd, void (*set_irq)(void *opaque, int level),
			 void *opaque)
{
	pthread_condattr_t ca;
	struct uart *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return NULL;
	r = pthread_mutex_init(&u->lock, NULL);
	if (r) {
		free(u);
		errno = r;
		return NULL;
	}
	r = pthread_condattr_init(&ca);
	if (!r) {
		r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (!r)
			r = pthread_cond_init(&u->room, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (r) {
		pthread_mutex_destroy(&u->lock);
		free(u);
		errno = r;
		return NULL;
	}
	u->out_fd = out_fd;
	u->set_irq = set_irq;
	u->opaque = opaque;
	u->irq_level = 0;
	pthread_mutex_lock(&u->lock);
	reset_locked(u);
	pthread_mutex_unlock(&u->lock);
	return u;
}

void uart_destroy(struct uart *u)
{
	if (!u)
		return;
	pthread_cond_destroy(&u->room);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void uart_reset(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	reset_locked(u);
	pthread_mutex_unlock(&u->lock);
}

void uart_io(struct uart *u, unsigned int offset, bool is_write,
	     uint8_t *data)
{
	if (offset >= UART_NR_PORTS) {
		if (!is_write)
			*data = 0xFF;
		return;
	}
	pthread_mutex_lock(&u->lock);
	if (is_write)
		reg_write(u, offset, *data);
	else
		*data = reg_read(u, offset);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static bool can_receive_locked(const struct uart *u)
{
	return !(u->mcr & MCR_LOOP) && u->rx_count < rx_capacity(u);
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	if (!(u->mcr & MCR_LOOP))
		while (n < len && rx_push(u, buf[n]))
			n++;
	if (n)
		update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

bool uart_can_receive(struct uart *u)
{
	bool r;

	pthread_mutex_lock(&u->lock);
	r = can_receive_locked(u);
	pthread_mutex_unlock(&u->lock);
	return r;
}

bool uart_wait_can_receive(struct uart *u, int timeout_ms)
{
	struct timespec deadline;
	bool r;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&u->lock);
	while (!can_receive_locked(u)) {
		int e = timeout_ms < 0 ?
			pthread_cond_wait(&u->room, &u->lock) :
			pthread_cond_timedwait(&u->room, &u->lock, &deadline);

		if (e == ETIMEDOUT)
			break;
	}
	r = can_receive_locked(u);
	pthread_mutex_unlock(&u->lock);
	return r;
}

int uart_irq_level(struct uart *u)
{
	int level;

	pthread_mutex_lock(&u->lock);
	level = u->irq_level;
	pthread_mutex_unlock(&u->lock);
	return level;
}
