// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the synthetic mouse's guest-packet parser
 * (host-vsp/input/mouse.c), detached from VMBus. Input: a script of
 *   op 0  guest packet: [u16 len][len bytes] (at most 256)
 *   op 1  host report: [u16 x][u16 y][u8 buttons][s8 wheel]
 *   op 2  the host's ring: [u8 full]
 * Whatever happens: no crash, no UB, no leak; every host packet is a
 * well-formed synthhid message (pipe and message sizes agree).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hvis/ring.h>
#include <hvis/synthhid.h>

#include "host-vsp/input/mouse.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static int ring_full;

static int check_send(void *opaque, const void *pkt, uint32_t len)
{
	struct hvis_synthhid_pipe p;
	struct hvis_synthhid_hdr h;

	(void)opaque;
	if (len < sizeof(p) + sizeof(h))
		abort();
	memcpy(&p, pkt, sizeof(p));
	memcpy(&h, (const uint8_t *)pkt + sizeof(p), sizeof(h));
	if (p.sp_type != HVIS_SYNTHHID_PIPE_DATA || p.sp_size != len - sizeof(p) ||
	    h.sh_size != p.sp_size - sizeof(h) || h.sh_type > HVIS_SYNTHHID_INPUT_REPORT)
		abort();
	return ring_full ? -HVIS_RING_FULL : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	struct mouse_dev *m = mouse_create_detached(check_send, NULL, NULL);
	size_t i = 0;

	ring_full = 0;
	if (!m)
		return 0;
	while (i < len) {
		uint8_t op = in[i++] % 3;

		if (op == 0 && len - i >= 2) {
			uint16_t n = (uint16_t)(in[i] | in[i + 1] << 8);
			uint8_t *buf;

			i += 2;
			n %= 257;
			if (n > len - i)
				n = (uint16_t)(len - i);
			/* an exact-size copy: any overread is an ASan error */
			buf = malloc(n ? n : 1);
			if (!buf)
				break;
			memcpy(buf, in + i, n);
			mouse_handle_packet(m, buf, n);
			free(buf);
			i += n;
		} else if (op == 1 && len - i >= 6) {
			mouse_report(m, (uint32_t)(in[i] | in[i + 1] << 8),
				     (uint32_t)(in[i + 2] | in[i + 3] << 8),
				     in[i + 4], (int8_t)in[i + 5]);
			i += 6;
		} else if (op == 2 && len - i >= 1) {
			ring_full = in[i++] & 1;
		} else {
			break;
		}
	}
	mouse_destroy(m);
	return 0;
}
