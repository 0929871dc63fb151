/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib-ranges.h"

static void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static int strv_copy(const char *const *v, char ***ret) {
        size_t n = 0;
        char **c;

        if (!v) {
                *ret = NULL;
                return 0;
        }
        while (v[n])
                n++;
        c = calloc(n + 1, sizeof *c);
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        strv_free(c);
                        return -ENOMEM;
                }
        }
        *ret = c;
        return 0;
}

/* A deep copy of r covering [start, start + len). */
static int range_copy(const LibRange *r, uint64_t start, uint64_t len, LibRange *ret) {
        LibRange c = { .start = start, .len = len };

        if (r->name) {
                c.name = strdup(r->name);
                if (!c.name)
                        return -ENOMEM;
        }
        if (strv_copy((const char *const *) r->labels, &c.labels) < 0) {
                free(c.name);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void lib_range_done(LibRange *r) {
        if (!r)
                return;
        free(r->name);
        strv_free(r->labels);
        *r = (LibRange){};
}

void lib_ranges_done(LibRanges *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                lib_range_done(&l->items[i]);
        free(l->items);
        *l = (LibRanges){};
}

int lib_ranges_prepare_add(LibRanges *l, uint64_t start, uint64_t len, const char *name,
                           const char *const *labels, LibRange *ret) {
        LibRange src = { .name = (char *) name, .labels = (char **) labels };
        LibRange *items;

        /* Room for n + 1: realloc() to the same or a larger size keeps the list as it is. */
        items = realloc(l->items, (l->n + 1) * sizeof *items);
        if (!items)
                return -ENOMEM;
        l->items = items;
        return range_copy(&src, start, len, ret);
}

void lib_ranges_push(LibRanges *l, LibRange *r) {
        l->items[l->n++] = *r;
        *r = (LibRange){};
}

int lib_ranges_subtract(const LibRanges *l, uint64_t start, uint64_t len, LibRanges *ret) {
        uint64_t end = start + len;
        LibRanges out = {};
        int r;

        /* each range gives at most two pieces (tracked ranges do not overlap, so only one can
         * contain [start, end), but nothing here depends on that) */
        out.items = calloc(2 * l->n + 1, sizeof *out.items);
        if (!out.items)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++) {
                const LibRange *x = &l->items[i];
                uint64_t x_end = x->start + x->len;

                if (x_end <= start || x->start >= end) {
                        r = range_copy(x, x->start, x->len, &out.items[out.n]);
                        if (r < 0)
                                goto fail;
                        out.n++;
                        continue;
                }
                if (x->start < start) {
                        r = range_copy(x, x->start, start - x->start, &out.items[out.n]);
                        if (r < 0)
                                goto fail;
                        out.n++;
                }
                if (x_end > end) {
                        r = range_copy(x, end, x_end - end, &out.items[out.n]);
                        if (r < 0)
                                goto fail;
                        out.n++;
                }
        }
        *ret = out;
        return 0;
fail:
        lib_ranges_done(&out);
        return r;
}

void lib_ranges_remove(LibRanges *l, size_t i) {
        if (i >= l->n)
                return;
        lib_range_done(&l->items[i]);
        memmove(&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof *l->items);
        l->n--;
}
