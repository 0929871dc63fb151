/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict parsers for the values in config files, on the command line and on D-Bus. Pure: no I/O.
 * Each returns 0 and writes *ret on success, or -EINVAL (malformed) / -ERANGE (out of range) and
 * leaves *ret alone. Leading and trailing whitespace is an error: the caller strips it. */

#include <stddef.h>
#include <stdint.h>

/* "4096", "512K", "512M", "2G", "1T", "1.5G", "64MiB", "64M", "64MB" (all base 1024). */
int parse_size(const char *s, uint64_t *ret_bytes);
/* "10s", "2min", "1h 30min", "250ms", "3us", "1d", "1.5s"; a bare number means seconds. */
int parse_duration(const char *s, uint64_t *ret_usec);
/* "10%", "12.5%", "100%" -> per-myriad (0..10000), i.e. hundredths of a percent. */
int parse_percent(const char *s, unsigned *ret_permyriad);
/* Decimal unsigned integer, no sign, no garbage. */
int parse_u64(const char *s, uint64_t *ret);
/* "yes"/"no"/"true"/"false"/"1"/"0"/"on"/"off". */
int parse_boolean(const char *s, int *ret);

/* Formatting counterparts, for messages and status: "512.0M", "2min 5s". Return buf. */
char *format_bytes(char *buf, size_t len, uint64_t bytes);
char *format_duration(char *buf, size_t len, uint64_t usec);
#define FORMAT_BYTES_MAX 32
#define FORMAT_DURATION_MAX 64
