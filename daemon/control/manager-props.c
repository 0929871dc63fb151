/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "manager-props.h"

static const char *manager_cannot_see_nth(const void *obj, size_t i) {
        const Manager *m = obj;

        return i < m->probe_result.n_cannot_see ? m->probe_result.cannot_see[i] : NULL;
}

/* The UFFD_FEATURE_* bits UFFDIO_API offered, by name. */
static const char *manager_kernel_feature_nth(const void *obj, size_t i) {
        const Manager *m = obj;

        for (unsigned bit = 0; bit < 64; bit++) {
                const char *name;

                if (!(m->probe.features_offered & (1ULL << bit)))
                        continue;
                name = probe_feature_to_string(1ULL << bit);
                if (name && i-- == 0)
                        return name;
        }
        return NULL;
}

void manager_prop_get(Manager *m, const ManagerTotals *t, unsigned idx, PropValue *v) {
        *v = (PropValue){ .s = "" };
        switch (idx) {
#define VALUE(id, name, type, flags, dump, status, metric, metric_name, help, value) \
        case MANAGER_PROP_##id:                                                      \
                value;                                                               \
                break;
                UFFDTIER_MANAGER_PROPERTIES(VALUE)
                UFFDTIER_MANAGER_VALUES(VALUE)
#undef VALUE
        }
}
