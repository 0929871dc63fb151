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
        CONF_POLICY_ARM_LEVEL_MAX = 1U << 7,
        CONF_POLICY_REFAULT_TARGET = 1U << 8,
        CONF_POLICY_COLD_AGE_MIN = 1U << 9,
        CONF_POLICY_COLD_AGE_MAX = 1U << 10,
};
/* Bits of Config.config_set / ConfOverrides.config_set: which [Daemon] and [Limits] keys were
 * given. */
enum {
        CONF_LIMIT_CLIENTS_PER_UID = 1U << 0,
        CONF_LIMIT_RANGES = 1U << 1,
        CONF_LIMIT_BYTES = 1U << 2,
        CONF_LIMIT_CONNECTIONS_PER_SEC = 1U << 3,
        CONF_LIMIT_CONNECTIONS_TOTAL = 1U << 4,
        CONF_LIMIT_CLIENTS_TOTAL = 1U << 5,
        CONF_LIMIT_PROTOCOL_ERRORS = 1U << 6,
        CONF_LIMIT_STATE_PER_UID = 1U << 16, /* (8..10: the [Daemon] keys below) */
        CONF_LIMIT_STATE_TOTAL = 1U << 17,
        CONF_LIMIT_SYNC_WINDOW_MAX = 1U << 18,
        CONF_LIMIT_FORKS_PER_CLIENT = 1U << 19,
        CONF_LIMIT_FORKS_PER_UID = 1U << 20,
        CONF_LIMIT_REQUESTS_PER_SEC = 1U << 21, /* the burst follows: twice the rate */
        CONF_LIMIT_BUS_CALLS_PER_SEC = 1U << 22, /* the burst follows: twice the rate */
        CONF_LIMIT_BUS_CALLS_TOTAL = 1U << 23,
        CONF_DAEMON_SOCKET = 1U << 8,
        CONF_DAEMON_LOG_LEVEL = 1U << 9,
        CONF_DAEMON_STATS_INTERVAL = 1U << 10,
};

#define CONF_STATS_INTERVAL_DEFAULT_USEC (60ULL * 1000000ULL)

typedef struct Config {
        char *path; /* the main file, NULL when there is none */
        char *socket_path; /* never NULL */
        int log_level; /* -1: not set anywhere, leave it */
        uint64_t stats_interval_usec;
        Limits limits;
        uint64_t config_set;
        PolicySet policies; /* default_policy.name is NULL */
        unsigned default_policy_line; /* of [Policy] in the main file, 0 if absent */
} Config;

/* What the command line said; it wins over the files, also across reloads. Filled by
 * config_option_parse() from the same key table as the files. */
typedef struct ConfOverrides {
        Config config; /* the [Daemon] and [Limits] fields named by config_set */
        uint64_t config_set;
        Policy policy; /* the fields named by policy_set; for the default policy */
        uint64_t policy_set;
        bool dry_run_all; /* --dry-run: every policy monitors only */
} ConfOverrides;

#define CONF_OVERRIDES_INIT \
        { .config.log_level = -1 }

void conf_overrides_done(ConfOverrides *o);

/* The keys the command line sets too, as --OPTION=VALUE: the i-th option's name (without the
 * dashes), NULL past the last. */
const char *config_option_name(size_t i);
/* For --help: the i-th option's value name and help text (lines split by \n), and the file key
 * it sets. */
void config_option_help(size_t i, const char **ret_arg, const char **ret_help,
                        const char **ret_section, const char **ret_key);
/* Parses the i-th option's value into o with the key's own parser and bounds; -EINVAL with
 * "invalid value for --OPTION: ..." in ret_error. */
int config_option_parse(ConfOverrides *o, size_t i, const char *value, sd_bus_error *ret_error);

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
