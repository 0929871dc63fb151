/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cgroup-path.h"
#include "client-props.h"
#include "macro.h"

_Static_assert(CLASSIFY_N_BUCKETS == UFFDTIER_BUS_AGE_BUCKETS, "the bus shows every age bucket");

void client_prop_get(const Client *c, unsigned idx, PropValue *v) {
        const TrackerCounters *k = client_counters(c);
        const Policy *p = client_policy(c);
        Policy defaults;

        if (!p) { /* not set up yet: the built-in defaults are what it would get */
                policy_init(&defaults);
                p = &defaults;
        }
        *v = (PropValue){ .s = "" };
        switch (idx) {
#define VALUE(id, name, type, flags, dump, status, metric, metric_name, help, value) \
        case CLIENT_PROP_##id:                                                       \
                value;                                                               \
                break;
                UFFDTIER_CLIENT_PROPERTIES(VALUE)
                UFFDTIER_CLIENT_VALUES(VALUE)
#undef VALUE
        }
}

int client_status_reply(const Client *c, ProtoMessage *reply) {
        int r;

        r = proto_message_set_backend(reply, backend_to_string(c->env->tracker.backend));
        for (unsigned i = 0; r >= 0 && i < _CLIENT_PROP_MAX; i++) {
                PropValue v;

                if (!uffdtier_client_props[i].status)
                        continue;
                client_prop_get(c, i, &v);
                r = proto_message_add_counter(reply, uffdtier_client_props[i].status, v.u);
        }
        /* As many ranges as fit in one packet (1024 long-named ranges would not); the
         * tracked_bytes counter still covers them all. */
        for (size_t i = 0; r >= 0 && i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                if (i >= PROTO_RANGE_INFOS_MAX ||
                    proto_message_encoded_size(reply) + PROTO_NAME_MAX_BYTES + 64 >
                            PROTO_MESSAGE_MAX_BYTES) {
                        r = proto_message_add_counter(reply, "ranges_omitted",
                                                      c->ranges.n_ranges - i);
                        break;
                }
                r = proto_message_add_range_info(reply, t->start, t->end - t->start,
                                                 client_tag_name(c, t->tag));
        }
        return r;
}
