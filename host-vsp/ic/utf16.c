// SPDX-License-Identifier: GPL-2.0-only
/*
 * UTF-8 <-> UTF-16LE for KVP keys/values and the shutdown message.
 * Strict both ways: anything that is not a valid Unicode scalar value
 * sequence is refused rather than repaired.
 */
#include <errno.h>

#include "host-vsp/ic/ic.h"

int ic_utf8_to_utf16le(const char *s, size_t len, uint8_t *out,
		       size_t out_size)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, o = 0;

	if (!s && len)
		return -EINVAL;
	while (i < len) {
		uint32_t c = p[i], cp, min;
		size_t n;

		if (c < 0x80) {
			if (!c)
				return -EINVAL;		/* would truncate */
			cp = c;
			n = 1;
			min = 0;
		} else if ((c & 0xE0) == 0xC0) {
			cp = c & 0x1F;
			n = 2;
			min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			cp = c & 0x0F;
			n = 3;
			min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			cp = c & 0x07;
			n = 4;
			min = 0x10000;
		} else {
			return -EINVAL;
		}
		if (n > len - i)
			return -EINVAL;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | (p[i + k] & 0x3Fu);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return -EINVAL;
		i += n;
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			uint32_t hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);

			if (o + 4 + 2 > out_size)
				return -E2BIG;
			out[o++] = (uint8_t)hi;
			out[o++] = (uint8_t)(hi >> 8);
			out[o++] = (uint8_t)lo;
			out[o++] = (uint8_t)(lo >> 8);
		} else {
			if (o + 2 + 2 > out_size)
				return -E2BIG;
			out[o++] = (uint8_t)cp;
			out[o++] = (uint8_t)(cp >> 8);
		}
	}
	if (o + 2 > out_size)
		return -E2BIG;
	out[o++] = 0;
	out[o++] = 0;
	return (int)o;
}

int ic_utf16le_to_utf8(const uint8_t *in, size_t in_bytes, char *out,
		       size_t out_size)
{
	size_t n = in_bytes / 2, o = 0;

	if (!out || !out_size)
		return -E2BIG;
	out[0] = 0;
	if (in_bytes & 1)
		return -EINVAL;
	if (!in && n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = in[2 * i] | (uint32_t)in[2 * i + 1] << 8, cp;
		uint8_t b[4];
		size_t k;

		if (!u)
			break;
		if (u >= 0xD800 && u <= 0xDBFF) {
			uint32_t u2;

			if (i + 1 >= n)
				goto bad;
			u2 = in[2 * i + 2] | (uint32_t)in[2 * i + 3] << 8;
			if (u2 < 0xDC00 || u2 > 0xDFFF)
				goto bad;
			cp = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
			i++;
		} else if (u >= 0xDC00 && u <= 0xDFFF) {
			goto bad;
		} else {
			cp = u;
		}
		if (cp < 0x80) {
			b[0] = (uint8_t)cp;
			k = 1;
		} else if (cp < 0x800) {
			b[0] = (uint8_t)(0xC0 | cp >> 6);
			b[1] = (uint8_t)(0x80 | (cp & 0x3F));
			k = 2;
		} else if (cp < 0x10000) {
			b[0] = (uint8_t)(0xE0 | cp >> 12);
			b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			b[2] = (uint8_t)(0x80 | (cp & 0x3F));
			k = 3;
		} else {
			b[0] = (uint8_t)(0xF0 | cp >> 18);
			b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
			b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			b[3] = (uint8_t)(0x80 | (cp & 0x3F));
			k = 4;
		}
		if (k >= out_size - o) {
			out[0] = 0;
			return -E2BIG;
		}
		for (size_t j = 0; j < k; j++)
			out[o++] = (char)b[j];
	}
	out[o] = 0;
	return (int)o;
bad:
	out[0] = 0;
	return -EINVAL;
}
