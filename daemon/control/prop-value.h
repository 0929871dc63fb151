/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One value of the fact tables (bus-props.h) as the daemon computes it, and the VAL_* macros
 * the tables' value column is written in. Each rendering (bus, dump, STATUS) reads the member
 * its type names. */

#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-props.h"
#include "swap-setup.h"

typedef struct PropValue {
        uint64_t u; /* U64, U32, BOOL; an enum's number, an errno as is (the STATUS reply) */
        int64_t i; /* I32: an errno as a positive number */
        const char *s; /* STR, never NULL */
        const uint64_t *b; /* BUCKETS: UFFDTIER_BUS_AGE_BUCKETS entries */
        const char *(*nth)(const void *obj, size_t i); /* STRV: the i-th string, NULL past it */
        const void *obj;
        char buf[SWAP_SETUP_DESCRIBE_MAX]; /* a STR made on demand */
} PropValue;

/* The value column, with `v` the PropValue being filled. */
#define VAL_U64(x) (v->u = (uint64_t) (x))
#define VAL_BOOL(x) (v->u = !!(x))
#define VAL_STR(x) (v->s = (x) ?: "")
#define VAL_TEXT(call) ((call), v->s = v->buf)
#define VAL_ENUM(x, to_string) (v->u = (uint64_t) (x), v->s = to_string(x) ?: "")
#define VAL_ERRNO(x) (v->u = (uint64_t) (int64_t) (x), v->i = (x) < 0 ? -(int64_t) (x) : (x))
#define VAL_BUCKETS(x) (v->b = (x))
#define VAL_STRV(fn) (v->nth = (fn), v->obj = m)

/* What a caller who may not see a detail gets instead: 0, "", no strings, zero buckets. */
void prop_value_hidden(PropValue *v);
/* Appends the value in the type's signature (bus_type_signature). */
int prop_value_append(sd_bus_message *reply, BusType type, const PropValue *v);
/* A number that changes when the value does (a string's or an array's hash): what the bus
 * keeps to announce only the properties that changed. */
uint64_t prop_value_fingerprint(BusType type, const PropValue *v);
