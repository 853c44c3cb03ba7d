// SPDX-License-Identifier: GPL-2.0-only
/* Read-only CMOS clock: see rtc.h. */
#include "rtc.h"

static uint8_t bcd(unsigned int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static uint8_t rtc_read(const struct rtc *rtc, time_t now)
{
	struct tm tm;

	if (!gmtime_r(&now, &tm))
		return 0;
	switch (rtc->index) {
	case 0x00: return bcd((unsigned int)tm.tm_sec);
	case 0x02: return bcd((unsigned int)tm.tm_min);
	case 0x04: return bcd((unsigned int)tm.tm_hour);
	case 0x06: return bcd((unsigned int)tm.tm_wday + 1);
	case 0x07: return bcd((unsigned int)tm.tm_mday);
	case 0x08: return bcd((unsigned int)tm.tm_mon + 1);
	case 0x09: return bcd((unsigned int)(tm.tm_year % 100));
	case 0x32: return bcd((unsigned int)(tm.tm_year / 100 + 19));
	case 0x0A: return 0x26;	/* 32.768 kHz base, 1024 Hz; never updating */
	case 0x0B: return 0x02;	/* 24-hour, BCD, no interrupts */
	case 0x0C: return 0x00;	/* no interrupt flags */
	case 0x0D: return 0x80;	/* valid RAM and time */
	default:   return 0x00;
	}
}

void rtc_io(struct rtc *rtc, uint16_t port, bool is_write, uint8_t *data,
	    time_t now)
{
	if (port == RTC_PORT_INDEX) {
		if (is_write)
			rtc->index = *data & 0x7F;	/* bit 7: NMI mask */
		else
			*data = 0xFF;
		return;
	}
	if (!is_write)
		*data = rtc_read(rtc, now);
}
