/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-props.h"

#define DESCRIBE(name_, type_, flags_, dump_, status_, metric_, metric_name_, help_, value)       \
        {                                                                                         \
                .name = name_, .type = BUS_TYPE_##type_, .flags = flags_, .dump = dump_,          \
                .status = status_, .metric = metric_, .metric_name = metric_name_, .help = help_, \
        }
#define DESCRIBE_CLIENT(id, ...) [CLIENT_PROP_##id] = DESCRIBE(__VA_ARGS__),
#define DESCRIBE_MANAGER(id, ...) [MANAGER_PROP_##id] = DESCRIBE(__VA_ARGS__),

const BusProp uffdtier_client_props[_CLIENT_PROP_MAX] = { UFFDTIER_CLIENT_PROPERTIES(
        DESCRIBE_CLIENT) UFFDTIER_CLIENT_VALUES(DESCRIBE_CLIENT) };

const BusProp uffdtier_manager_props[_MANAGER_PROP_MAX] = { UFFDTIER_MANAGER_PROPERTIES(
        DESCRIBE_MANAGER) UFFDTIER_MANAGER_VALUES(DESCRIBE_MANAGER) };

const char *const bus_type_signature[_BUS_TYPE_MAX] = {
        [BUS_TYPE_STR] = BUS_SIG_STR,         [BUS_TYPE_U64] = BUS_SIG_U64,
        [BUS_TYPE_U32] = BUS_SIG_U32,         [BUS_TYPE_I32] = BUS_SIG_I32,
        [BUS_TYPE_BOOL] = BUS_SIG_BOOL,       [BUS_TYPE_STRV] = BUS_SIG_STRV,
        [BUS_TYPE_BUCKETS] = BUS_SIG_BUCKETS,
};
