/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configuration: uffdtierd.conf ([Daemon], [Limits], [Policy]: the default policy) and the
 * per-cgroup policies of the policy.d directory next to it (*.conf, read in lexical order, one
 * [Policy] per file). Defaults live in code; a key that is absent keeps them. A policy.d file
 * sets only the keys that differ from the default policy: the others are the default policy's,
 * command-line overrides included. Every value is validated; the first error is reported as
 * "FILE:LINE: message" in the sd_bus_error, with -EINVAL (or the -errno of a file that cannot be
 * read). The only file that includes <ini.h>: inih's conventions end here. Below the Manager:
 * never calls manager_*. See uffdtierd.conf(5). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "limit.h"
#include "policy-match.h"
#include "policy.h"

/* Bits of PolicyRule.set_mask / ConfOverrides.policy_set: which [Policy] keys were given. */
enum {
        CONF_POLICY_SCAN_INTERVAL = 1U << 0,
        CONF_POLICY_COLD_AGE = 1U << 1,
        CONF_POLICY_RATE = 1U << 2,
        CONF_POLICY_FLOOR = 1U << 3,
        CONF_POLICY_PSI_LIMIT = 1U << 4,
        CONF_POLICY_REARM_PERIOD = 1U << 5,
        CONF_POLICY_MODE = 1U << 6,
        CONF_POLICY_ARM_LEVEL_MAX = 1U << 7, /* command line only (--arm-level-max) */
};
/* Bits of Config.limits_set / ConfOverrides.limits_set. */
enum {
        CONF_LIMIT_CLIENTS_PER_UID = 1U << 0,
        CONF_LIMIT_RANGES = 1U << 1,
        CONF_LIMIT_BYTES = 1U << 2,
        CONF_LIMIT_CONNECTIONS_PER_SEC = 1U << 3,
        CONF_LIMIT_CONNECTIONS_TOTAL = 1U << 4, /* command line only (--max-connections) */
};

/* What the command line said; it wins over the files, also across reloads. */
typedef struct ConfOverrides {
        Policy policy; /* the fields named by policy_set; for the default policy */
        uint64_t policy_set;
        bool dry_run_all; /* --dry-run: every policy monitors only */
        const char *socket_path; /* NULL: not given */
        int log_level; /* -1: not given */
        uint64_t stats_interval_usec; /* 0: not given */
        Limits limits; /* the fields named by limits_set */
        uint64_t limits_set;
} ConfOverrides;

#define CONF_OVERRIDES_INIT \
        { .log_level = -1 }

#define CONF_STATS_INTERVAL_DEFAULT_USEC (60ULL * 1000000ULL)

typedef struct Config {
        char *path; /* the main file, NULL when there is none */
        char *socket_path; /* never NULL */
        int log_level; /* -1: not set anywhere, leave it */
        uint64_t stats_interval_usec;
        Limits limits;
        uint64_t limits_set;
        PolicySet policies; /* default_policy.name is NULL */
        unsigned default_policy_line; /* of [Policy] in the main file, 0 if absent */
} Config;

typedef enum ConfFileKind {
        CONF_FILE_MAIN, /* uffdtierd.conf */
        CONF_FILE_POLICY, /* policy.d/NAME.conf */
} ConfFileKind;

/* The built-in defaults, no file read. */
int config_new(Config **ret);
Config *config_free(Config *c);

/* Parses one file's text into c (the main file's keys, or one more policy rule). file is what
 * messages call it; for a policy file, its base name (without .conf) is the default Name=. */
int config_parse_text(Config *c, ConfFileKind kind, const char *file, const char *text, size_t len,
                      sd_bus_error *ret_error);
/* Applies the command line, gives every rule the default policy's unset keys, validates every
 * policy. Once, after the last file. */
int config_finalize(Config *c, const ConfOverrides *o, sd_bus_error *ret_error);

/* Reads path (a missing file is an error only if required) and the policy.d directory next to it,
 * then config_finalize(). All or nothing: *ret is written only when everything parsed. */
int config_load(const char *path, bool required, const ConfOverrides *o, sd_bus_error *ret_error,
                Config **ret);

/* The policy.d directory next to config_path. */
int config_policy_dir(const char *config_path, char **ret);

/* "default" for the default policy. */
static inline const char *policy_display_name(const Policy *p) {
        return p->name ? p->name : "default";
}

static inline void config_freep(Config **c) {
        if (*c)
                config_free(*c);
}
