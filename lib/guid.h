/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* GUID text form: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", Windows order. */
#ifndef HVIS_LIB_GUID_H
#define HVIS_LIB_GUID_H

#include <hvis/guid.h>

/* Write the text form of @g into @out (HVIS_GUID_STRLEN bytes). */
void hvis_guid_format(const struct hvis_guid *g, char *out);
/* Parse the text form (either case); 0 on success, -1 if malformed. */
int hvis_guid_parse(const char *s, struct hvis_guid *g);
bool hvis_guid_equal(const struct hvis_guid *a, const struct hvis_guid *b);

#endif /* HVIS_LIB_GUID_H */
