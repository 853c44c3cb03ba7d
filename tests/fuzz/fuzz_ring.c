// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for lib/ring.c: the other side controls the whole
 * ring (both indices, every data byte) and may change it between any two
 * calls. Whatever it does, the library must neither read nor write out
 * of bounds (ASan), nor hit undefined behaviour (UBSan), nor loop.
 *
 * Input: [u32 size selector][u32 write index][u32 read index]
 *        [u8 ops...] used as a script, the rest as data-area bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static u32 take32(const uint8_t **p, size_t *n)
{
	u32 v = 0;

	if (*n >= 4) {
		memcpy(&v, *p, 4);
		*p += 4;
		*n -= 4;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	static struct hvis_ring_header hdr __attribute__((aligned(4096)));
	u32 size = 64 + 8 * (take32(&in, &len) % 505);	/* 64 .. 4096 */
	u8 *data = malloc(size), buf[4096];
	struct hvis_ring rd, wr;
	struct hvis_ring_pkt pkt;
	const uint8_t *ops;
	size_t nops;
	bool sig;

	memset(&hdr, 0, sizeof(hdr));
	hdr.rh_write_index = take32(&in, &len);
	hdr.rh_read_index = take32(&in, &len);
	nops = len > 64 ? 64 : len;
	ops = in;
	memset(data, 0, size);
	memcpy(data, in + nops, len - nops < size ? len - nops : size);

	if (hvis_ring_attach(&rd, &hdr, data, size, HVIS_RING_READER) == 0 &&
	    hvis_ring_attach(&wr, &hdr, data, size, HVIS_RING_WRITER) == 0) {
		for (size_t i = 0; i < nops; i++) {
			u8 op = ops[i];
			u32 n = sizeof(buf);

			switch (op & 7) {
			case 0:
			case 1:
				if (hvis_ring_peek(&rd, &pkt) == 0) {
					hvis_ring_copy_out(&rd, &pkt, pkt.data_off, buf,
							   pkt.len - pkt.data_off);
					hvis_ring_consume(&rd, &pkt);
				}
				break;
			case 2:
				hvis_ring_read(&rd, buf, &n, &pkt);
				break;
			case 3:
				hvis_ring_commit(&rd, &sig);
				break;
			case 4: {
				struct hvis_pkt_desc d = { .pd_type = op };
				struct hvis_iov iov = { buf, (u32)op * 3 };

				memset(buf, op, iov.len);
				hvis_ring_send(&wr, &d, 0, &iov, 1, &sig);
				break;
			}
			case 5:	/* the peer moves the write index */
				hdr.rh_write_index = (u32)op << (op & 0x18);
				break;
			case 6:	/* the peer moves the read index */
				hdr.rh_read_index = (u32)op * 8 + (op >> 7);
				break;
			case 7:
				hvis_ring_request_space(&wr, op);
				hvis_ring_unmask(&rd);
				hvis_ring_bytes_to_read(&rd);
				hvis_ring_bytes_to_write(&wr);
				break;
			}
		}
	}
	free(data);
	return 0;
}
