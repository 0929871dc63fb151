/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "pagemap.h"

void page_region_vec_done(PageRegionVec *v) {
        if (!v)
                return;
        v->regions = mfree(v->regions);
        v->n = v->allocated = 0;
}

void page_region_vec_clear(PageRegionVec *v) {
        v->n = 0;
}

int page_region_vec_append(PageRegionVec *v, uint64_t start, uint64_t end, uint64_t categories) {
        if (start >= end)
                return -EINVAL;

        if (v->n > 0) {
                struct page_region *last = &v->regions[v->n - 1];

                if (last->end == start && last->categories == categories) {
                        last->end = end;
                        return 0;
                }
        }

        if (v->n == v->allocated) {
                size_t a = MAX(v->allocated * 2, (size_t) 64);
                struct page_region *p;

                if (a > SIZE_MAX / sizeof(*p))
                        return -ENOMEM;
                p = realloc(v->regions, a * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                v->regions = p;
                v->allocated = a;
        }

        v->regions[v->n++] = (struct page_region){
                .start = start,
                .end = end,
                .categories = categories,
        };
        return 0;
}

uint64_t page_region_vec_bytes(const PageRegionVec *v) {
        uint64_t sum = 0;

        for (size_t i = 0; i < v->n; i++)
                sum += v->regions[i].end - v->regions[i].start;
        return sum;
}

static bool page_region_vec_sorted(const PageRegionVec *v) {
        for (size_t i = 0; i < v->n; i++)
                if (v->regions[i].start >= v->regions[i].end ||
                    (i > 0 && v->regions[i].start < v->regions[i - 1].end))
                        return false;
        return true;
}

int page_region_vec_overlay(PageRegionVec *v, const PageRegionVec *add, uint64_t categories) {
        _cleanup_(page_region_vec_done) PageRegionVec out = {};
        size_t i = 0, j = 0;
        uint64_t pos = 0; /* everything below pos has been emitted */
        int r;

        if (!page_region_vec_sorted(v) || !page_region_vec_sorted(add))
                return -EINVAL;
        if (add->n == 0)
                return 0;

        for (;;) {
                const struct page_region *a, *b;
                uint64_t as, bs, s, e, cats = 0;

                while (i < v->n && v->regions[i].end <= pos)
                        i++;
                while (j < add->n && add->regions[j].end <= pos)
                        j++;
                a = i < v->n ? &v->regions[i] : NULL;
                b = j < add->n ? &add->regions[j] : NULL;
                if (!a && !b)
                        break;

                /* The next piece starts at the first covered address at or after pos and ends
                 * where the coverage (by v, by add, or both) next changes. */
                as = a ? MAX(a->start, pos) : UINT64_MAX;
                bs = b ? MAX(b->start, pos) : UINT64_MAX;
                s = MIN(as, bs);
                e = UINT64_MAX;
                if (a)
                        e = MIN(e, as == s ? a->end : as);
                if (b)
                        e = MIN(e, bs == s ? b->end : bs);
                if (a && as == s)
                        cats |= a->categories;
                if (b && bs == s)
                        cats |= categories;

                r = page_region_vec_append(&out, s, e, cats);
                if (r < 0)
                        return r;
                pos = e;
        }

        page_region_vec_done(v);
        *v = out;
        out = (PageRegionVec){};
        return 0;
}

int pagemap_scan_range(const KernelOps *ops, int pagemap_fd, uint64_t start, uint64_t end,
                       uint64_t flags, uint64_t category_mask, uint64_t category_anyof_mask,
                       uint64_t return_mask, uint64_t max_pages, PageRegionVec *out) {
        struct page_region buf[PAGEMAP_SCAN_BATCH_REGIONS];
        const uint64_t ps = page_size();
        size_t saved_n = out->n;
        uint64_t saved_last_end = out->n > 0 ? out->regions[out->n - 1].end : 0;
        uint64_t pos = start, found_pages = 0;
        int r;

        /* The kernel rejects an unaligned start and silently rounds end up; refuse both so that
         * walk_end always lands inside [start, end]. */
        if (start >= end || !IS_ALIGNED(start, ps) || !IS_ALIGNED(end, ps))
                return -EINVAL;

        while (pos < end) {
                struct pm_scan_arg arg = {
                        .size = sizeof(struct pm_scan_arg),
                        .flags = flags,
                        .start = pos,
                        .end = end,
                        .vec = (uint64_t) (uintptr_t) buf,
                        .vec_len = ELEMENTSOF(buf),
                        /* The kernel's max_pages counts per call, 0 meaning unlimited. */
                        .max_pages = max_pages > 0 ? max_pages - found_pages : 0,
                        .category_mask = category_mask,
                        .category_anyof_mask = category_anyof_mask,
                        .return_mask = return_mask,
                };
                uint64_t prev_end = pos;
                size_t n;

                r = ops->pagemap_scan(pagemap_fd, &arg);
                if (r < 0)
                        goto fail;
                n = (size_t) r;
                if (n > ELEMENTSOF(buf) || arg.walk_end <= pos || arg.walk_end > end) {
                        r = -EIO;
                        goto fail;
                }

                for (size_t i = 0; i < n; i++) {
                        const struct page_region *reg = &buf[i];

                        /* The kernel reports ascending, disjoint regions below walk_end. Within
                         * one call it may split a run where its 512-entry bounce buffer was
                         * flushed; append() joins those. */
                        if (reg->start < prev_end || reg->end > arg.walk_end ||
                            reg->start >= reg->end) {
                                r = -EIO;
                                goto fail;
                        }
                        r = page_region_vec_append(out, reg->start, reg->end, reg->categories);
                        if (r < 0)
                                goto fail;
                        found_pages += (reg->end - reg->start) / ps;
                        prev_end = reg->end;
                }

                pos = arg.walk_end;
                if (max_pages > 0 && found_pages >= max_pages)
                        return pos < end ? 1 : 0;
        }
        return 0;

fail:
        out->n = saved_n;
        if (saved_n > 0)
                out->regions[saved_n - 1].end = saved_last_end;
        return r;
}
