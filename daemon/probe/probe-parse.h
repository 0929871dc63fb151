/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure parsers (text in, number out) for the files probe_run() reads, so a fake /proc can be
 * tested without I/O: /proc/swaps -> sum of the Size column in bytes; /proc/meminfo -> SwapTotal
 * in bytes; /proc/PID/status -> CapEff mask. -EINVAL when the text is malformed, -ERANGE when a
 * size overflows. ret_* is written only on success. */

#include <stdint.h>

int probe_parse_swaps(const char *text, uint64_t *ret_bytes);
int probe_parse_meminfo_swap_total(const char *text, uint64_t *ret_bytes);
int probe_parse_status_capeff(const char *text, uint64_t *ret_mask);
