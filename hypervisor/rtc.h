/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A read-only MC146818 CMOS clock at ports 0x70/0x71: enough for Linux to
 * read the time of day at boot (host UTC, BCD, 24-hour). Writes to the
 * clock are ignored; the guest's clock is the Hyper-V reference time.
 */
#ifndef HVIS_HV_RTC_H
#define HVIS_HV_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_PORT_INDEX	0x70
#define RTC_PORT_DATA	0x71

struct rtc {
	uint8_t index;		/* last register selected through 0x70 */
};

/* One byte at @port (0x70 or 0x71); @now is the host's time. */
void rtc_io(struct rtc *rtc, uint16_t port, bool is_write, uint8_t *data,
	    time_t now);

#endif /* HVIS_HV_RTC_H */
