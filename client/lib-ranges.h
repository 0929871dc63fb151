/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LIB_RANGES_H
#define LIB_RANGES_H

/* What libuffdtier remembers of the ranges a handle tracks, so that uffdtier_reconnect() can hand
 * them to a new daemon: each range with its name and labels as the program gave them, minus what
 * it untracked since (an UNTRACK in the middle splits a range, as the daemon does). Pure: no I/O,
 * no locking (the handle's lock covers it). Every change that can fail is prepared aside first,
 * so that the list is changed only once the daemon said yes, and then cannot fail. */

#include <stddef.h>
#include <stdint.h>

typedef struct LibRange {
        uint64_t start;
        uint64_t len;
        char *name; /* NULL: no name */
        char **labels; /* NULL-terminated "key=value" strings, or NULL */
} LibRange;

typedef struct LibRanges {
        LibRange *items;
        size_t n;
} LibRanges;

/* A copy of name and labels for [start, start + len) in *ret, and room for one more range in l:
 * after the daemon accepted the TRACK, lib_ranges_push() cannot fail. -ENOMEM. */
int lib_ranges_prepare_add(LibRanges *l, uint64_t start, uint64_t len, const char *name,
                           const char *const *labels, LibRange *ret);
void lib_ranges_push(LibRanges *l, LibRange *r);
void lib_range_done(LibRange *r);

/* The list l without [start, start + len) in *ret (l unchanged): ranges inside it are left out,
 * ranges that overlap an end are cut, a range that contains it is split in two (both keep its
 * name and labels). -ENOMEM. */
int lib_ranges_subtract(const LibRanges *l, uint64_t start, uint64_t len, LibRanges *ret);

/* Removes items[i], keeping the order of the others. */
void lib_ranges_remove(LibRanges *l, size_t i);
void lib_ranges_done(LibRanges *l);

#endif
