/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arm-schedule.h"
#include "conf.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "parse.h"

/* A config file is small; a bigger one is a mistake, not something to read into memory. */
#define CONF_FILE_MAX_BYTES (1024 * 1024)
#define CONF_POLICY_FILES_MAX 4096U
#define CONF_MATCH_PER_POLICY_MAX 256U
#define CONF_POLICY_NAME_MAX 64U
#define CONF_UINT_MAX (1U << 20) /* a count no machine gets near */
#define CONF_MESSAGE_MAX 512

typedef struct ConfParser ConfParser;

typedef struct ConfKey ConfKey;

/* Parses value into the field at target; -EINVAL/-ERANGE, or a reason of its own. */
typedef int (*ConfParseFn)(ConfParser *p, const ConfKey *key, const char *value, void *target,
                           const char **ret_reason);

typedef enum ConfTarget {
        TARGET_CONFIG, /* offset into Config */
        TARGET_POLICY, /* offset into the Policy this file fills */
        TARGET_RULE, /* offset into the PolicyRule (policy files only) */
} ConfTarget;

/* One setting: its key in the file, its option on the command line (both parsed here, by the
 * same function with the same bounds), where it goes and which bit says it was given. */
struct ConfKey {
        const char *name;
        const char *option; /* --OPTION=VALUE, or NULL: the file only */
        const char *arg, *help; /* for uffdtierd --help */
        ConfParseFn parse;
        ConfTarget target;
        size_t offset, size;
        uint64_t bit; /* for the set masks */
        unsigned min, max; /* parse_uint_field's bounds */
        const char *unit; /* of max, for the message */
        bool string; /* a char * the Config owns */
        bool repeatable; /* Match= */
        bool policy_file_only; /* Name=, Match= */
};

typedef struct ConfSection {
        const char *name;
        const ConfKey *keys;
        size_t n_keys;
        bool in_main, in_policy;
} ConfSection;

#define KEYS_MAX 16

struct ConfParser {
        Config *config;
        ConfFileKind kind;
        const char *file;

        /* the text, handed to inih line by line by conf_reader() so that we know the line */
        const char *text;
        size_t len, pos;
        unsigned line;
        bool key_since_header; /* inih treats an indented line after a key as a continuation */
        bool stop;

        /* the first error */
        int error;
        unsigned error_line;
        char message[CONF_MESSAGE_MAX];

        /* what this file fills */
        Policy *policy;
        uint64_t *policy_set;
        PolicyRule rule; /* CONF_FILE_POLICY */
        unsigned policy_line; /* of [Policy], 0 if not seen */
        unsigned name_line;
        unsigned key_line[3][KEYS_MAX]; /* where each key was set, for duplicates */
        char why[96]; /* a reason a value parser formatted */
};

_printf_(4, 5) static int conf_fail(ConfParser *p, unsigned line, int error, const char *fmt, ...) {
        va_list ap;

        if (p->error == 0) {
                p->error = error;
                p->error_line = line;
                va_start(ap, fmt);
                vsnprintf(p->message, sizeof p->message, fmt, ap);
                va_end(ap);
        }
        p->stop = true;
        return -abs(error);
}

/* ---- value parsers ---- */

static int parse_duration_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                                const char **why) {
        return parse_duration(v, t);
}

static int parse_size_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                            const char **why) {
        return parse_size(v, t);
}

static int parse_percent_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                               const char **why) {
        return parse_percent(v, t);
}

static int parse_uint_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                            const char **why) {
        uint64_t u;
        int r = parse_u64(v, &u);

        if (r < 0)
                return r;
        if (u > key->max || u < key->min) {
                if (u < key->min)
                        snprintf(p->why, sizeof p->why, "at least %u", key->min);
                else if (key->unit)
                        snprintf(p->why, sizeof p->why, "at most %u %s", key->max, key->unit);
                else
                        return -ERANGE;
                *why = p->why;
                return -ERANGE;
        }
        *(unsigned *) t = (unsigned) u;
        return 0;
}

static int parse_mode_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                            const char **why) {
        if (streq(v, "evict"))
                *(bool *) t = false;
        else if (streq(v, "monitor"))
                *(bool *) t = true;
        else {
                *why = "expected evict or monitor";
                return -EINVAL;
        }
        return 0;
}

static int parse_socket_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                              const char **why) {
        char **s = t, *copy;

        if (v[0] != '/') {
                *why = "not an absolute path";
                return -EINVAL;
        }
        if (strlen(v) >= 108) { /* sizeof(sockaddr_un.sun_path) */
                *why = "too long for a unix socket";
                return -ERANGE;
        }
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        free(*s);
        *s = copy;
        return 0;
}

static int parse_log_level_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                                 const char **why) {
        int r = log_level_from_string(v);

        if (r < 0) {
                *why = "expected err, warning, notice, info or debug";
                return -EINVAL;
        }
        *(int *) t = r;
        return 0;
}

static int parse_stats_interval_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                                      const char **why) {
        int r = parse_duration(v, t);

        if (r >= 0 && *(uint64_t *) t == 0) {
                *why = "must be more than 0";
                return -ERANGE;
        }
        return r;
}

static bool policy_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > CONF_POLICY_NAME_MAX)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@:-") ==
                n;
}

static int parse_name_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                            const char **why) {
        char **s = t, *copy;

        if (!policy_name_valid(v)) {
                snprintf(p->why, sizeof p->why, "expected 1 to %u of A-Z a-z 0-9 _ . @ : -",
                         CONF_POLICY_NAME_MAX);
                *why = p->why;
                return -EINVAL;
        }
        if (streq(v, "default")) {
                *why = "reserved for the default policy";
                return -EINVAL;
        }
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        free(*s);
        *s = copy;
        p->name_line = p->line;
        return 0;
}

static int parse_match_field(ConfParser *p, const ConfKey *key, const char *v, void *t,
                             const char **why) {
        PolicyRule *rule = &p->rule;
        char **a, *copy;
        int r = policy_match_check(v, why);

        if (r < 0)
                return r;
        if (rule->n_match >= CONF_MATCH_PER_POLICY_MAX) {
                snprintf(p->why, sizeof p->why, "more than %u Match= in one policy",
                         CONF_MATCH_PER_POLICY_MAX);
                *why = p->why;
                return -E2BIG;
        }
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        a = reallocarray(rule->match, rule->n_match + 1, sizeof *a);
        if (!a) {
                free(copy);
                return -ENOMEM;
        }
        a[rule->n_match++] = copy;
        rule->match = a;
        return 0;
}

/* ---- one table per section ---- */

#define FIELD(type, member) .offset = offsetof(type, member), .size = sizeof(((type *) 0)->member)
#define UINT(lo, hi) .parse = parse_uint_field, .min = (lo), .max = (hi)

static const ConfKey daemon_keys[] = {
        { .name = "Socket",
          .option = "socket",
          .arg = "PATH",
          .help = "Handoff socket (default " UFFDTIER_SOCKET_DEFAULT ")",
          .parse = parse_socket_field,
          .target = TARGET_CONFIG,
          FIELD(Config, socket_path),
          .bit = CONF_DAEMON_SOCKET,
          .string = true },
        { .name = "LogLevel",
          .option = "log-level",
          .arg = "LEVEL",
          .help = "err, warning, notice, info, debug (default info)",
          .parse = parse_log_level_field,
          .target = TARGET_CONFIG,
          FIELD(Config, log_level),
          .bit = CONF_DAEMON_LOG_LEVEL },
        { .name = "StatsInterval",
          .option = "stats-interval",
          .arg = "DUR",
          .help = "Log every client's counters this often (default 60s)",
          .parse = parse_stats_interval_field,
          .target = TARGET_CONFIG,
          FIELD(Config, stats_interval_usec),
          .bit = CONF_DAEMON_STATS_INTERVAL },
};

static const ConfKey limits_keys[] = {
        { .name = "MaxClientsPerUid",
          .option = "max-clients-per-uid",
          .arg = "N",
          .help = "Clients one uid may have (default 64)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.clients_per_uid),
          .bit = CONF_LIMIT_CLIENTS_PER_UID },
        { .name = "MaxRanges",
          .option = "max-ranges",
          .arg = "N",
          .help = "Tracked ranges per client (default 1024)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.ranges_per_client),
          .bit = CONF_LIMIT_RANGES },
        { .name = "MaxBytes",
          .option = "max-bytes",
          .arg = "SIZE",
          .help = "Tracked bytes per client (default 1T)",
          .parse = parse_size_field,
          .target = TARGET_CONFIG,
          FIELD(Config, limits.bytes_per_client),
          .bit = CONF_LIMIT_BYTES },
        { .name = "ConnectionsPerSec",
          .option = "conn-rate",
          .arg = "N",
          .help = "Handoff connections per second per uid (default 200, 0 = no limit)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.connections_per_sec),
          .bit = CONF_LIMIT_CONNECTIONS_PER_SEC },
        { .name = "MaxConnections",
          .option = "max-connections",
          .arg = "N",
          .help = "Open handoff connections, all uids (default 1024; a uid may hold\n"
                  "a quarter, 16 are kept for root)",
          UINT(1, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.connections_total),
          .bit = CONF_LIMIT_CONNECTIONS_TOTAL },
        { .name = "MaxClients",
          .option = "max-clients",
          .arg = "N",
          .help = "Clients of all uids together (default 1024, at least 1; 16 are\n"
                  "kept for root): a user with subordinate uids has several uids",
          UINT(1, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.clients_total),
          .bit = CONF_LIMIT_CLIENTS_TOTAL },
        { .name = "MaxProtocolErrors",
          .option = "max-protocol-errors",
          .arg = "N",
          .help = "Malformed or out-of-turn requests on one connection before it is\n"
                  "closed (default 16, 0 = never)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.protocol_errors_max),
          .bit = CONF_LIMIT_PROTOCOL_ERRORS },
        { .name = "StateBytesPerUid",
          .option = "state-bytes-per-uid",
          .arg = "SIZE",
          .help = "The daemon's memory for the per-page state of one uid's clients\n"
                  "(default 64M; past it state is coarsened, and a TRACK that may\n"
                  "need more is refused)",
          .parse = parse_size_field,
          .target = TARGET_CONFIG,
          FIELD(Config, limits.state_bytes_per_uid),
          .bit = CONF_LIMIT_STATE_PER_UID },
        { .name = "StateBytesTotal",
          .option = "state-bytes-total",
          .arg = "SIZE",
          .help = "The same for all uids (default 256M)",
          .parse = parse_size_field,
          .target = TARGET_CONFIG,
          FIELD(Config, limits.state_bytes_total),
          .bit = CONF_LIMIT_STATE_TOTAL },
        { .name = "SyncWindowMax",
          .option = "sync-window-max",
          .arg = "DURATION",
          .help = "rwp: close a sync window after this long whatever else is to do\n"
                  "(default 2s, 0 = unbounded)",
          .parse = parse_duration_field,
          .target = TARGET_CONFIG,
          FIELD(Config, limits.sync_window_max_usec),
          .bit = CONF_LIMIT_SYNC_WINDOW_MAX },
        { .name = "MaxPendingForks",
          .option = "max-pending-forks",
          .arg = "N",
          .help = "Forks of one client waiting for their child (default 16)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.forks_pending_per_client),
          .bit = CONF_LIMIT_FORKS_PER_CLIENT },
        { .name = "MaxPendingForksPerUid",
          .option = "max-pending-forks-per-uid",
          .arg = "N",
          .help = "The same for all clients of a uid (default 64)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.forks_pending_per_uid),
          .bit = CONF_LIMIT_FORKS_PER_UID },
        { .name = "RequestsPerSec",
          .option = "request-rate",
          .arg = "N",
          .help = "Handoff requests per second per uid but root (default 500, burst\n"
                  "twice that; over it the connection is read later; 0 = no limit)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.requests_per_sec),
          .bit = CONF_LIMIT_REQUESTS_PER_SEC },
        { .name = "BusCallsPerSec",
          .option = "bus-call-rate",
          .arg = "N",
          .help = "D-Bus calls per second per caller (default 100, burst twice that;\n"
                  "over it: LimitsExceeded; 0 = no limit)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.bus_calls_per_sec),
          .bit = CONF_LIMIT_BUS_CALLS_PER_SEC },
        { .name = "BusCallsTotalPerSec",
          .option = "bus-call-rate-total",
          .arg = "N",
          .help = "D-Bus calls per second of all callers (default 1000, 0 = no limit)",
          UINT(0, CONF_UINT_MAX),
          .target = TARGET_CONFIG,
          FIELD(Config, limits.bus_calls_total_per_sec),
          .bit = CONF_LIMIT_BUS_CALLS_TOTAL },
};

static const ConfKey policy_keys[] = {
        { .name = "Name",
          .parse = parse_name_field,
          .target = TARGET_RULE,
          .offset = offsetof(PolicyRule, name),
          .policy_file_only = true },
        { .name = "Match",
          .parse = parse_match_field,
          .target = TARGET_RULE,
          .repeatable = true,
          .policy_file_only = true },
        { .name = "ScanInterval",
          .option = "interval",
          .arg = "DURATION",
          .help = "Scan interval (default 10s)",
          .parse = parse_duration_field,
          .target = TARGET_POLICY,
          FIELD(Policy, interval_usec),
          .bit = CONF_POLICY_SCAN_INTERVAL },
        { .name = "ColdAge",
          .option = "cold-age",
          .arg = "DURATION",
          .help = "Unaccessed this long means cold (default 120s)",
          .parse = parse_duration_field,
          .target = TARGET_POLICY,
          FIELD(Policy, cold_age_usec),
          .bit = CONF_POLICY_COLD_AGE },
        { .name = "RefaultTarget",
          .option = "refault-target",
          .arg = "PERCENT",
          .help = "Tune the cold age per client to at most this much of its working\n"
                  "set refaulted per minute (e.g. 0.2%; default 0: the cold age is fixed)",
          .parse = parse_percent_field,
          .target = TARGET_POLICY,
          FIELD(Policy, refault_target_permyriad),
          .bit = CONF_POLICY_REFAULT_TARGET },
        { .name = "ColdAgeMin",
          .option = "cold-age-min",
          .arg = "DURATION",
          .help = "The tuned cold age's lower bound (default one interval)",
          .parse = parse_duration_field,
          .target = TARGET_POLICY,
          FIELD(Policy, cold_age_min_usec),
          .bit = CONF_POLICY_COLD_AGE_MIN },
        { .name = "ColdAgeMax",
          .option = "cold-age-max",
          .arg = "DURATION",
          .help = "The tuned cold age's upper bound (default 126 intervals)",
          .parse = parse_duration_field,
          .target = TARGET_POLICY,
          FIELD(Policy, cold_age_max_usec),
          .bit = CONF_POLICY_COLD_AGE_MAX },
        { .name = "Rate",
          .option = "rate",
          .arg = "SIZE",
          .help = "Eviction rate cap per second (default 0: none, paced by cost\n"
                  "and pressure alone)",
          .parse = parse_size_field,
          .target = TARGET_POLICY,
          FIELD(Policy, rate_bytes_per_sec),
          .bit = CONF_POLICY_RATE },
        { .name = "Floor",
          .option = "floor",
          .arg = "SIZE",
          .help = "Keep at least this much of each client resident (default 0)",
          .parse = parse_size_field,
          .target = TARGET_POLICY,
          FIELD(Policy, floor_bytes),
          .bit = CONF_POLICY_FLOOR },
        { .name = "PSILimit",
          .option = "psi-limit",
          .arg = "PERCENT",
          .help = "Back off above this memory pressure, some avg10 (default 10%)",
          .parse = parse_percent_field,
          .target = TARGET_POLICY,
          FIELD(Policy, psi_limit_permyriad),
          .bit = CONF_POLICY_PSI_LIMIT },
        { .name = "RearmPeriod",
          .option = "rearm-period",
          .arg = "N",
          .help = "Re-arm each page every N cycles (default cold age / 2)",
          UINT(0, POLICY_COLD_AGE_MAX_CYCLES),
          .unit = "cycles",
          .target = TARGET_POLICY,
          FIELD(Policy, rearm_period_cycles),
          .bit = CONF_POLICY_REARM_PERIOD },
        { .name = "ArmLevelMax",
          .option = "arm-level-max",
          .arg = "N",
          .help = "Re-arm a chunk that stays hot at most every period << N cycles\n"
                  "(default 3, 0 = fixed schedule)",
          UINT(0, ARM_LEVEL_MAX_LIMIT),
          .target = TARGET_POLICY,
          FIELD(Policy, arm_level_max),
          .bit = CONF_POLICY_ARM_LEVEL_MAX },
        { .name = "Mode",
          .parse = parse_mode_field,
          .target = TARGET_POLICY,
          FIELD(Policy, dry_run),
          .bit = CONF_POLICY_MODE },
};

static const ConfSection sections[] = {
        { .name = "Daemon",
          .keys = daemon_keys,
          .n_keys = ELEMENTSOF(daemon_keys),
          .in_main = true },
        { .name = "Limits",
          .keys = limits_keys,
          .n_keys = ELEMENTSOF(limits_keys),
          .in_main = true },
        { .name = "Policy",
          .keys = policy_keys,
          .n_keys = ELEMENTSOF(policy_keys),
          .in_main = true,
          .in_policy = true },
};

static const ConfSection *section_find(const ConfParser *p, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (streq(sections[i].name, name) &&
                    (p->kind == CONF_FILE_MAIN ? sections[i].in_main : sections[i].in_policy)) {
                        if (ret_index)
                                *ret_index = i;
                        return &sections[i];
                }
        return NULL;
}

static int unknown_section(ConfParser *p, const char *name) {
        if (p->kind == CONF_FILE_POLICY)
                return conf_fail(p, p->line, EINVAL,
                                 "%s:%u: unknown section [%s] (a policy file has only [Policy])",
                                 p->file, p->line, name);
        return conf_fail(p, p->line, EINVAL, "%s:%u: unknown section [%s]", p->file, p->line, name);
}

/* ---- inih's callbacks: the conventions of <ini.h> are converted here and nowhere else ---- */

static int conf_handle(ConfParser *p, const char *section, const char *name, const char *value) {
        const ConfSection *sec;
        const ConfKey *key = NULL;
        const char *why = NULL;
        size_t si, ki;
        void *base, *target;
        int r;

        p->key_since_header = true;
        if (section[0] == '\0')
                return conf_fail(p, p->line, EINVAL, "%s:%u: %s= outside a section", p->file,
                                 p->line, name);
        sec = section_find(p, section, &si);
        if (!sec) /* normally caught at the header already */
                return unknown_section(p, section);
        for (ki = 0; ki < sec->n_keys; ki++)
                if (streq(sec->keys[ki].name, name) &&
                    (p->kind == CONF_FILE_POLICY || !sec->keys[ki].policy_file_only)) {
                        key = &sec->keys[ki];
                        break;
                }
        if (!key) {
                if (p->kind == CONF_FILE_MAIN && streq(section, "Policy") &&
                    (streq(name, "Name") || streq(name, "Match")))
                        return conf_fail(
                                p, p->line, EINVAL,
                                "%s:%u: %s= belongs in a policy.d file, not in the default [Policy]",
                                p->file, p->line, name);
                return conf_fail(p, p->line, EINVAL, "%s:%u: unknown key %s= in [%s]", p->file,
                                 p->line, name, section);
        }
        if (!key->repeatable && p->key_line[si][ki] > 0)
                return conf_fail(p, p->line, EINVAL, "%s:%u: %s= already set on line %u", p->file,
                                 p->line, name, p->key_line[si][ki]);

        switch (key->target) {
        case TARGET_CONFIG:
                base = p->config;
                break;
        case TARGET_POLICY:
                base = p->policy;
                break;
        default:
                base = &p->rule;
                break;
        }
        target = (uint8_t *) base + key->offset;
        r = key->parse(p, key, value, target, &why);
        if (r == -ENOMEM)
                return conf_fail(p, p->line, ENOMEM, "%s:%u: out of memory", p->file, p->line);
        if (r < 0)
                return conf_fail(p, p->line, EINVAL, "%s:%u: invalid %s= value \"%s\": %s", p->file,
                                 p->line, name, value,
                                 why                    ? why
                                         : r == -ERANGE ? "out of range"
                                                        : "malformed");
        p->key_line[si][ki] = p->line;
        if (key->target == TARGET_POLICY)
                *p->policy_set |= key->bit;
        else if (key->target == TARGET_CONFIG)
                p->config->config_set |= key->bit;
        return 0;
}

static int conf_handler(void *userdata, const char *section, const char *name, const char *value) {
        ConfParser *p = userdata;

        if (p->stop)
                return 1; /* the error is recorded; inih reads on to the end of this line only */
        /* inih: non-zero is success */
        return conf_handle(p, section, name, value) < 0 ? 0 : 1;
}

/* inih does not tell the handler the line (INI_HANDLER_LINENO is off in distribution builds) and
 * does not call it for a section header: this reader hands inih one line at a time, counts them,
 * checks the headers, and refuses a line longer than inih's buffer, which inih would silently
 * cut (a cgroup path in a Match= would be truncated). */
static char *conf_reader(char *str, int num, void *stream) {
        ConfParser *p = stream;
        const char *s, *nl, *h;
        size_t n;

        if (p->stop || p->pos >= p->len || num < 2)
                return NULL;
        s = p->text + p->pos;
        nl = memchr(s, '\n', p->len - p->pos);
        n = nl ? (size_t) (nl - s) + 1 : p->len - p->pos;
        p->line++;
        if (n > (size_t) num - 1) {
                (void) conf_fail(p, p->line, EINVAL, "%s:%u: line too long (at most %d characters)",
                                 p->file, p->line, num - 2);
                return NULL;
        }
        memcpy(str, s, n);
        str[n] = '\0';
        p->pos += n;

        /* a section header, as inih sees it: "[" after optional blanks (and a BOM on line 1),
         * unless indented after a key, which makes it a continuation line */
        h = str;
        if (p->line == 1 && strncmp(h, "\xEF\xBB\xBF", 3) == 0)
                h += 3;
        if (h[0] != '[' && !p->key_since_header)
                h += strspn(h, " \t\r\f\v");
        if (h[0] == '[') {
                const char *end = strchr(h + 1, ']');

                if (end) {
                        char name[64];

                        snprintf(name, sizeof name, "%.*s",
                                 (int) MIN((size_t) (end - h - 1), sizeof name - 1), h + 1);
                        p->key_since_header = false;
                        if (!section_find(p, name, NULL)) {
                                (void) unknown_section(p, name);
                                return NULL;
                        }
                        if (streq(name, "Policy") && p->policy_line == 0)
                                p->policy_line = p->line;
                }
        }
        return str;
}

/* ---- files ---- */

static int conf_result(ConfParser *p, int r, sd_bus_error *ret_error) {
        if (r == -2)
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "%s: out of memory", p->file);
        /* inih's positive return is the first line it found wrong: a handler failure (ours,
         * recorded with its line) or a syntax error, which inih does not explain */
        if (r > 0 && (p->error == 0 || (unsigned) r < p->error_line))
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL,
                        "%s:%d: syntax error (expected [Section], Key=Value or a comment)", p->file,
                        r);
        if (p->error != 0)
                return sd_bus_error_set_errnof(ret_error, p->error, "%s", p->message);
        return 0;
}

static int policy_name_from_file(const char *file, char **ret) {
        const char *b = strrchr(file, '/');
        size_t n;

        b = b ? b + 1 : file;
        n = strlen(b);
        if (n > 5 && streq(b + n - 5, ".conf"))
                n -= 5;
        *ret = strndup(b, n);
        return *ret ? 0 : -ENOMEM;
}

static int policy_file_finish(ConfParser *p, sd_bus_error *ret_error) {
        Config *c = p->config;
        PolicyRule *rules, *rule = &p->rule;
        unsigned line = p->policy_line ? p->policy_line : 1;

        if (p->policy_line == 0)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "%s:1: no [Policy] section",
                                               p->file);
        if (rule->n_match == 0)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "%s:%u: [Policy] has no Match=", p->file, line);
        if (!rule->name) {
                if (policy_name_from_file(p->file, &rule->name) < 0)
                        return sd_bus_error_set_errnof(ret_error, ENOMEM, "%s: out of memory",
                                                       p->file);
                if (!policy_name_valid(rule->name) || streq(rule->name, "default"))
                        return sd_bus_error_set_errnof(
                                ret_error, EINVAL,
                                "%s:%u: the file name does not make a valid policy name (\"%s\"): set Name=",
                                p->file, line, rule->name);
        }
        for (size_t i = 0; i < c->policies.n_rules; i++)
                if (streq(c->policies.rules[i].name, rule->name))
                        return sd_bus_error_set_errnof(
                                ret_error, EINVAL,
                                "%s:%u: duplicate policy name \"%s\" (also in %s:%u)", p->file,
                                p->name_line ? p->name_line : line, rule->name,
                                c->policies.rules[i].file, c->policies.rules[i].line);
        if (c->policies.n_rules >= CONF_POLICY_FILES_MAX)
                return sd_bus_error_set_errnof(ret_error, E2BIG, "%s: more than %u policies",
                                               p->file, CONF_POLICY_FILES_MAX);
        rule->file = strdup(p->file);
        if (!rule->file)
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "%s: out of memory", p->file);
        rule->line = line;
        rules = reallocarray(c->policies.rules, c->policies.n_rules + 1, sizeof *rules);
        if (!rules)
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "%s: out of memory", p->file);
        c->policies.rules = rules;
        rules[c->policies.n_rules++] = *rule;
        *rule = (PolicyRule){}; /* moved */
        return 0;
}

int config_parse_text(Config *c, ConfFileKind kind, const char *file, const char *text, size_t len,
                      sd_bus_error *ret_error) {
        ConfParser p = {
                .config = c,
                .kind = kind,
                .file = file,
                .text = text,
                .len = len,
        };
        int r;

        if (memchr(text, '\0', len))
                return sd_bus_error_set_errnof(ret_error, EINVAL, "%s: contains a NUL byte", file);
        if (kind == CONF_FILE_MAIN) {
                p.policy = &c->policies.default_policy;
                p.policy_set = &(uint64_t){ 0 };
        } else {
                policy_init(&p.rule.policy);
                p.policy = &p.rule.policy;
                p.policy_set = &p.rule.set_mask;
        }
        r = conf_result(&p, ini_parse_stream(conf_reader, &p, conf_handler, &p), ret_error);
        if (r >= 0 && kind == CONF_FILE_MAIN && p.policy_line > 0)
                c->default_policy_line = p.policy_line;
        if (r >= 0 && kind == CONF_FILE_POLICY)
                r = policy_file_finish(&p, ret_error);
        policy_rule_done(&p.rule);
        return r;
}

/* ---- after the last file ---- */

/* Copies the fields of the keys named by mask from src to dst (a Policy, or a Config). */
static int keys_apply(const ConfKey *keys, size_t n_keys, void *dst, const void *src,
                      uint64_t mask) {
        for (size_t i = 0; i < n_keys; i++) {
                const ConfKey *k = &keys[i];
                void *to = (uint8_t *) dst + k->offset;
                const void *from = (const uint8_t *) src + k->offset;

                if (!(k->bit & mask) || k->target == TARGET_RULE)
                        continue;
                if (k->string) {
                        char *copy = strdup(*(char *const *) from);

                        if (!copy)
                                return -ENOMEM;
                        free(*(char **) to);
                        *(char **) to = copy;
                } else
                        memcpy(to, from, k->size);
        }
        return 0;
}

static void policy_apply(Policy *dst, const Policy *src, uint64_t mask) {
        (void) keys_apply(policy_keys, ELEMENTSOF(policy_keys), dst, src, mask);
}

int config_finalize(Config *c, const ConfOverrides *o, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        Policy *d = &c->policies.default_policy;
        int r;

        if (o) {
                uint64_t mask = o->config.config_set;

                policy_apply(d, &o->policy, o->policy_set);
                if (o->dry_run_all)
                        d->dry_run = true;
                if (keys_apply(daemon_keys, ELEMENTSOF(daemon_keys), c, &o->config, mask) < 0 ||
                    keys_apply(limits_keys, ELEMENTSOF(limits_keys), c, &o->config, mask) < 0)
                        return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
                c->config_set |= mask;
        }
        /* the burst follows the rate */
        if (c->config_set & CONF_LIMIT_CONNECTIONS_PER_SEC)
                c->limits.connections_burst = MAX(c->limits.connections_per_sec, 1U);
        /* requests and bus calls: a burst of two seconds' worth */
        if (c->config_set & CONF_LIMIT_REQUESTS_PER_SEC)
                c->limits.requests_burst = 2 * c->limits.requests_per_sec;
        if (c->config_set & CONF_LIMIT_BUS_CALLS_PER_SEC)
                c->limits.bus_calls_burst = 2 * c->limits.bus_calls_per_sec;

        d->name = NULL;
        r = policy_validate(d, &e);
        if (r < 0) {
                if (c->path && c->default_policy_line > 0)
                        return sd_bus_error_set_errnof(ret_error, -r, "%s:%u: default policy: %s",
                                                       c->path, c->default_policy_line, e.message);
                return sd_bus_error_set_errnof(ret_error, -r, "default policy: %s", e.message);
        }
        for (size_t i = 0; i < c->policies.n_rules; i++) {
                PolicyRule *rule = &c->policies.rules[i];
                Policy p = *d;

                policy_apply(&p, &rule->policy, rule->set_mask);
                if (o && o->dry_run_all)
                        p.dry_run = true;
                p.name = rule->name;
                sd_bus_error_free(&e);
                r = policy_validate(&p, &e);
                if (r < 0)
                        return sd_bus_error_set_errnof(ret_error, -r, "%s:%u: policy %s: %s",
                                                       rule->file, rule->line, rule->name,
                                                       e.message);
                rule->policy = p;
        }
        return 0;
}

/* ---- the command line: the same keys ---- */

static const ConfKey *option_key(size_t i, const char **ret_section) {
        for (size_t si = 0; si < ELEMENTSOF(sections); si++)
                for (size_t ki = 0; ki < sections[si].n_keys; ki++)
                        if (sections[si].keys[ki].option && i-- == 0) {
                                if (ret_section)
                                        *ret_section = sections[si].name;
                                return &sections[si].keys[ki];
                        }
        return NULL;
}

const char *config_option_name(size_t i) {
        const ConfKey *k = option_key(i, NULL);

        return k ? k->option : NULL;
}

void config_option_help(size_t i, const char **ret_arg, const char **ret_help,
                        const char **ret_section, const char **ret_key) {
        const ConfKey *k = option_key(i, ret_section);

        *ret_arg = k->arg;
        *ret_help = k->help;
        *ret_key = k->name;
}

int config_option_parse(ConfOverrides *o, size_t i, const char *value, sd_bus_error *ret_error) {
        const ConfKey *k = option_key(i, NULL);
        ConfParser p = {
                .config = &o->config,
                .kind = CONF_FILE_MAIN,
                .file = "command line",
                .policy = &o->policy,
                .policy_set = &o->policy_set,
        };
        const char *why = NULL;
        void *base;
        int r;

        if (!k)
                return -EINVAL;
        base = k->target == TARGET_POLICY ? (void *) &o->policy : (void *) &o->config;
        r = k->parse(&p, k, value, (uint8_t *) base + k->offset, &why);
        if (r == -ENOMEM)
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
        if (r < 0)
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL, "invalid value for --%s: \"%s\" (%s)", k->option, value,
                        why                    ? why
                                : r == -ERANGE ? "out of range"
                                               : "malformed");
        if (k->target == TARGET_POLICY)
                o->policy_set |= k->bit;
        else
                o->config.config_set |= k->bit;
        return 0;
}

void conf_overrides_done(ConfOverrides *o) {
        free(o->config.socket_path);
        o->config.socket_path = NULL;
}

/* ---- objects and the files on disk ---- */

int config_new(Config **ret) {
        Config *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        c->socket_path = strdup(UFFDTIER_SOCKET_DEFAULT);
        if (!c->socket_path) {
                free(c);
                return -ENOMEM;
        }
        c->log_level = -1;
        c->stats_interval_usec = CONF_STATS_INTERVAL_DEFAULT_USEC;
        c->limits = limits_default();
        policy_init(&c->policies.default_policy);
        *ret = c;
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        policy_set_done(&c->policies);
        free(c->socket_path);
        free(c->path);
        free(c);
        return NULL;
}

static int parse_file(Config *c, ConfFileKind kind, const char *path, bool required,
                      sd_bus_error *ret_error) {
        _cleanup_free_ char *text = NULL;
        int r = read_virtual_file(path, CONF_FILE_MAX_BYTES, &text);

        if (r == -ENOENT && !required)
                return 0;
        if (r == -EBADMSG)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "%s: contains a NUL byte", path);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "%s: cannot read: %s", path,
                                               strerror(-r));
        r = config_parse_text(c, kind, path, text, strlen(text), ret_error);
        return r < 0 ? r : 1;
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void strv_free_n(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The *.conf names in dir, sorted bytewise (not by locale: the order decides ties). */
static int list_policy_files(const char *dir, sd_bus_error *ret_error, char ***ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        char **v = NULL;
        size_t n = 0;

        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return sd_bus_error_set_errnof(ret_error, errno, "%s: cannot open: %s", dir,
                                               strerror(errno));
        }
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                size_t l = strlen(de->d_name);
                struct stat st;
                char **nv;

                if (de->d_name[0] == '.' || l <= 5 || !streq(de->d_name + l - 5, ".conf"))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue; /* a dangling link or a directory named *.conf */
                if (n >= CONF_POLICY_FILES_MAX) {
                        strv_free_n(v, n);
                        return sd_bus_error_set_errnof(ret_error, E2BIG,
                                                       "%s: more than %u policy files", dir,
                                                       CONF_POLICY_FILES_MAX);
                }
                nv = reallocarray(v, n + 1, sizeof *v);
                if (!nv || !(nv[n] = strdup(de->d_name))) {
                        strv_free_n(nv ? nv : v, n);
                        return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
                }
                v = nv;
                n++;
        }
        if (errno != 0) {
                int r = errno;
                strv_free_n(v, n);
                return sd_bus_error_set_errnof(ret_error, r, "%s: cannot read: %s", dir,
                                               strerror(r));
        }
        if (n > 0)
                qsort(v, n, sizeof *v, cmp_strp);
        *ret = v;
        *ret_n = n;
        return 0;
}

int config_policy_dir(const char *config_path, char **ret) {
        const char *slash = strrchr(config_path, '/');
        int n = slash ? (int) (slash - config_path) : 1;
        const char *base = slash ? config_path : ".";

        if (slash == config_path) /* "/uffdtierd.conf" */
                n = 0;
        if (asprintf(ret, "%.*s/policy.d", n, base) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int config_load(const char *path, bool required, const ConfOverrides *o, sd_bus_error *ret_error,
                Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dir = NULL;
        char **files = NULL;
        size_t n_files = 0;
        int r;

        r = config_new(&c);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "out of memory");
        if (path) {
                r = parse_file(c, CONF_FILE_MAIN, path, required, ret_error);
                if (r < 0)
                        return r;
                if (r > 0 && !(c->path = strdup(path)))
                        return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");

                r = config_policy_dir(path, &dir);
                if (r < 0)
                        return sd_bus_error_set_errnof(ret_error, -r, "out of memory");
                r = list_policy_files(dir, ret_error, &files, &n_files);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_files && r >= 0; i++) {
                        _cleanup_free_ char *f = NULL;

                        if (asprintf(&f, "%s/%s", dir, files[i]) < 0) {
                                f = NULL;
                                r = sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
                        } else
                                r = parse_file(c, CONF_FILE_POLICY, f, true, ret_error);
                }
                strv_free_n(files, n_files);
                if (r < 0)
                        return r;
        }
        r = config_finalize(c, o, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
