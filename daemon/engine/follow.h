/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Following a whole process (the FOLLOW request, uffdtier-run): which of its mappings the daemon
 * tracks by itself, and what changed since the last look. Pure: the layout comes in as an array
 * of VmaInfo (kernel/vma.h reads it), the tracked ranges as the client's RangeSet; out come the
 * runs to TRACK and to UNTRACK. The Client (control/client.c) schedules the walks and does the
 * tracking, piece by piece, with every check a TRACK request gets.
 *
 * What is followed: private, anonymous, readable and writable memory with the base page size:
 * the brk heap, allocator arenas and extents, large mmap()s, memory named with
 * PR_SET_VMA_ANON_NAME. Not followed: the main stack ("[stack]", it grows down), thread stacks
 * (an anonymous VMA right above a small PROT_NONE guard, as glibc and musl lay them out), shared
 * and file-backed mappings (and so shmem and device memory: VM_IO mappings are device files),
 * hugetlb, read-only or PROT_NONE memory, the kernel's special mappings. Mappings that are
 * mlock()ed cannot be told apart in the layout (only smaps says so, at the price of a page-table
 * walk): they are followed, and MADV_PAGEOUT leaves their pages alone.
 *
 * A run is a maximal stretch of adjacent followable VMAs. The kernel does not merge a VMA that is
 * registered with a userfaultfd with one that is not, so a heap that grows by brk or an arena
 * that grows by mprotect() shows up as a new VMA next to the tracked one: a run counts as a
 * whole against min_bytes, so such growth is followed however small each step is. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rangeset.h"
#include "vma.h"

/* A PROT_NONE VMA of at most this size right below an anonymous one is taken for a thread stack's
 * guard (glibc: one page by default, pthread_attr_setguardsize() for more). */
#define FOLLOW_GUARD_MAX_BYTES (UINT64_C(64) << 10)

/* Whether v may be followed; prev is the VMA just below it in the layout (NULL: none), to tell a
 * thread stack by its guard. */
bool follow_vma_eligible(const VmaInfo *v, const VmaInfo *prev);

/* The difference between a layout and what is tracked:
 *   ret_track   the parts of every run of at least min_bytes (the run's whole length, tracked
 *               parts included) that are not tracked yet and not in skip (runs refused before);
 *   ret_untrack the tracked parts that no followable VMA covers any more (made PROT_NONE or
 *               read-only, replaced by a file mapping without an unmap event, ...).
 * layout: ascending, non-overlapping (as vma_walk_step() gives it). skip may be NULL. Both
 * outputs are appended to in address order. -ENOMEM (outputs partly filled: the caller clears
 * them). */
int follow_diff(const VmaInfo *layout, size_t n, const RangeSet *tracked, uint64_t min_bytes,
                const RunVec *skip, RunVec *ret_track, RunVec *ret_untrack);

/* Adds [start, end) to skip, keeping it sorted (runs that overlap or touch are merged). -ENOMEM
 * leaves skip as it was. */
int follow_skip_add(RunVec *skip, uint64_t start, uint64_t end);

/* Keeps of skip only the runs that still lie inside one run of followable VMAs of layout (a
 * refusal is remembered while its mapping stays as it was; once the layout there changed it is
 * tried again). Returns the number kept. */
size_t follow_prune_skip(const VmaInfo *layout, size_t n, RunVec *skip);
