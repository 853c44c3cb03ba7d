// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * GUID text conversion. The first three fields are stored little-endian,
 * so their text digits come from the bytes in reverse order.
 */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <string.h>
#include <hvis/user-compat.h>
#endif

#include "guid.h"

/* Byte index for each of the 16 text byte positions, in text order. */
static const u8 guid_text_order[16] = {
	3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15
};

void hvis_guid_format(const struct hvis_guid *g, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;
	char *p = out;

	for (i = 0; i < 16; i++) {
		u8 b = g->g_bytes[guid_text_order[i]];

		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b >> 4];
		*p++ = hex[b & 0xf];
	}
	*p = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hvis_guid_parse(const char *s, struct hvis_guid *g)
{
	struct hvis_guid tmp;
	unsigned int i;
	int hi, lo;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (*s++ != '-')
				return -1;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -1;
		tmp.g_bytes[guid_text_order[i]] = (u8)(hi << 4 | lo);
		s += 2;
	}
	if (*s != '\0')
		return -1;
	*g = tmp;
	return 0;
}

bool hvis_guid_equal(const struct hvis_guid *a, const struct hvis_guid *b)
{
	return memcmp(a->g_bytes, b->g_bytes, sizeof(a->g_bytes)) == 0;
}
