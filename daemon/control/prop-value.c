/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "prop-value.h"

void prop_value_hidden(PropValue *v) {
        static const uint64_t zero[UFFDTIER_BUS_AGE_BUCKETS];

        *v = (PropValue){ .s = "", .b = zero };
}

int prop_value_append(sd_bus_message *reply, BusType type, const PropValue *v) {
        int r;

        switch (type) {
        case BUS_TYPE_STR:
                return sd_bus_message_append(reply, "s", v->s);
        case BUS_TYPE_U64:
                return sd_bus_message_append(reply, "t", v->u);
        case BUS_TYPE_U32:
                return sd_bus_message_append(reply, "u", (uint32_t) v->u);
        case BUS_TYPE_I32:
                return sd_bus_message_append(reply, "i", (int32_t) v->i);
        case BUS_TYPE_BOOL:
                return sd_bus_message_append(reply, "b", (int) !!v->u);
        case BUS_TYPE_STRV:
                r = sd_bus_message_open_container(reply, 'a', "s");
                for (size_t i = 0; r >= 0 && v->nth && v->nth(v->obj, i); i++)
                        r = sd_bus_message_append(reply, "s", v->nth(v->obj, i));
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(reply);
        case BUS_TYPE_BUCKETS:
                return sd_bus_message_append_array(reply, 't', v->b,
                                                   UFFDTIER_BUS_AGE_BUCKETS * sizeof(uint64_t));
        default:
                return -EINVAL;
        }
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
        for (const unsigned char *c = p; n > 0; n--, c++)
                h = (h ^ *c) * UINT64_C(0x100000001b3);
        return h;
}

uint64_t prop_value_fingerprint(BusType type, const PropValue *v) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        switch (type) {
        case BUS_TYPE_STR:
                return fnv1a(h, v->s, strlen(v->s));
        case BUS_TYPE_I32:
                return (uint64_t) v->i;
        case BUS_TYPE_STRV:
                for (size_t i = 0; v->nth && v->nth(v->obj, i); i++)
                        h = fnv1a(h, v->nth(v->obj, i), strlen(v->nth(v->obj, i)) + 1);
                return h;
        case BUS_TYPE_BUCKETS:
                return fnv1a(h, v->b, UFFDTIER_BUS_AGE_BUCKETS * sizeof(uint64_t));
        default:
                return v->u;
        }
}
