// SPDX-License-Identifier: GPL-2.0-only
/* hvis-run: placeholder until the hypervisor issue lands. */
int main(void);
int main(void) { return 1; }
