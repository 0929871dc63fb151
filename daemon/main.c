/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "bus-names.h"
#include "manager-bus.h"
#include "manager.h"
#include "parse.h"
#include "probe-print.h"
#include "probe.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void help(void) {
        printf("uffdtierd [OPTIONS...]\n\n"
               "Tiers the memory of cooperating processes: tracks which pages they access through\n"
               "their userfaultfd and pages out the cold ones.\n\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the version\n"
               "     --probe                 Print what this kernel offers and which backend runs, then exit\n"
               "     --json                  With --probe: print JSON\n"
               "     --config=PATH           Configuration file (default %s);\n"
               "                             policies are read from policy.d/ next to it\n"
               "     --socket=PATH           Handoff socket (default %s)\n"
               "     --log-level=LEVEL       err, warning, notice, info, debug (default info)\n"
               "     --backend=NAME          Force rwp or wp-async (default: the best the kernel has)\n"
               "     --interval=DURATION     Scan interval (default 10s)\n"
               "     --cold-age=DURATION     Unaccessed this long means cold (default 120s)\n"
               "     --rate=SIZE             Eviction rate cap per second (default 0: none, paced by\n"
               "                             cost and pressure alone)\n"
               "     --floor=SIZE            Keep at least this much of each client resident (default 0)\n"
               "     --psi-limit=PERCENT     Back off above this memory pressure, some avg10 (default 10%%)\n"
               "     --rearm-period=N        Re-arm each page every N cycles (default cold age / 2)\n"
               "     --arm-level-max=N       Re-arm a chunk that stays hot at most every period << N\n"
               "                             cycles (default 3, 0 = fixed schedule)\n"
               "     --dry-run               Monitor only, whatever the policies say: classify, never evict\n"
               "     --stats-interval=DUR    Log every client's counters this often (default 60s)\n"
               "     --max-clients-per-uid=N --max-ranges=N --max-bytes=SIZE --conn-rate=N\n"
               "                             Limits on what one client or uid may use\n"
               "     --max-connections=N     Open handoff connections, all uids (default 1024; a uid\n"
               "                             may hold a quarter, 16 are kept for root)\n"
               "     --no-mlock              Do not lock the daemon's memory\n"
               "     --bus-address=ADDRESS   Serve the D-Bus API on this bus (default: $" UFFDTIER_BUS_ADDRESS_ENV
               ",\n"
               "                             else the system bus if there is one)\n"
               "     --no-bus                Do not serve the D-Bus API\n"
               "Options override the configuration file (see uffdtierd.conf(5)); SIGHUP reloads it.\n",
               SYSCONFDIR "/uffdtierd/uffdtierd.conf", UFFDTIER_SOCKET_DEFAULT);
}

enum {
        ARG_VERSION = 0x100,
        ARG_PROBE,
        ARG_JSON,
        ARG_SOCKET,
        ARG_LOG_LEVEL,
        ARG_BACKEND,
        ARG_INTERVAL,
        ARG_COLD_AGE,
        ARG_RATE,
        ARG_FLOOR,
        ARG_PSI_LIMIT,
        ARG_REARM_PERIOD,
        ARG_ARM_LEVEL_MAX,
        ARG_DRY_RUN,
        ARG_STATS_INTERVAL,
        ARG_MAX_CLIENTS,
        ARG_MAX_RANGES,
        ARG_MAX_BYTES,
        ARG_CONN_RATE,
        ARG_MAX_CONNECTIONS,
        ARG_NO_MLOCK,
        ARG_BUS_ADDRESS,
        ARG_NO_BUS,
        ARG_CONFIG,
};

typedef struct Args {
        bool probe, json, mlock;
        bool no_bus;
        const char *bus_address; /* NULL: the system bus, if any */
} Args;

static int bad_value(const char *opt, const char *value, int r) {
        log_error("invalid value for --%s: \"%s\" (%s)", opt, value,
                  r == -ERANGE ? "out of range" : "malformed");
        return -EINVAL;
}

static int parse_uint_arg(const char *opt, const char *v, unsigned max, unsigned *ret) {
        uint64_t u;
        int r = parse_u64(v, &u);
        if (r < 0 || u > max)
                return bad_value(opt, v, r < 0 ? r : -ERANGE);
        *ret = (unsigned) u;
        return 0;
}

static int parse_argv(int argc, char **argv, Manager *m, Args *a) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "probe", no_argument, NULL, ARG_PROBE },
                { "json", no_argument, NULL, ARG_JSON },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "interval", required_argument, NULL, ARG_INTERVAL },
                { "cold-age", required_argument, NULL, ARG_COLD_AGE },
                { "rate", required_argument, NULL, ARG_RATE },
                { "floor", required_argument, NULL, ARG_FLOOR },
                { "psi-limit", required_argument, NULL, ARG_PSI_LIMIT },
                { "rearm-period", required_argument, NULL, ARG_REARM_PERIOD },
                { "arm-level-max", required_argument, NULL, ARG_ARM_LEVEL_MAX },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "stats-interval", required_argument, NULL, ARG_STATS_INTERVAL },
                { "max-clients-per-uid", required_argument, NULL, ARG_MAX_CLIENTS },
                { "max-ranges", required_argument, NULL, ARG_MAX_RANGES },
                { "max-bytes", required_argument, NULL, ARG_MAX_BYTES },
                { "conn-rate", required_argument, NULL, ARG_CONN_RATE },
                { "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
                { "no-mlock", no_argument, NULL, ARG_NO_MLOCK },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "no-bus", no_argument, NULL, ARG_NO_BUS },
                { "config", required_argument, NULL, ARG_CONFIG },
                {}
        };
        ConfOverrides *o = &m->overrides;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("uffdtierd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_PROBE:
                        a->probe = true;
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case ARG_SOCKET:
                        if (optarg[0] != '/')
                                return bad_value("socket", optarg, -EINVAL);
                        o->socket_path = optarg; /* argv outlives the manager */
                        break;
                case ARG_CONFIG:
                        if (optarg[0] == '\0')
                                return bad_value("config", optarg, -EINVAL);
                        free(m->config_path);
                        if (!(m->config_path = strdup(optarg)))
                                return log_oom();
                        m->config_required = true;
                        break;
                case ARG_LOG_LEVEL:
                        r = log_level_from_string(optarg);
                        if (r < 0)
                                return bad_value("log-level", optarg, r);
                        log_set_max_level(r);
                        o->log_level = r;
                        break;
                case ARG_BACKEND:
                        if (streq(optarg, "rwp"))
                                m->backend = BACKEND_RWP;
                        else if (streq(optarg, "wp-async"))
                                m->backend = BACKEND_WP_ASYNC;
                        else
                                return bad_value("backend", optarg, -EINVAL);
                        break;
                case ARG_INTERVAL:
                        if ((r = parse_duration(optarg, &o->policy.interval_usec)) < 0)
                                return bad_value("interval", optarg, r);
                        o->policy_set |= CONF_POLICY_SCAN_INTERVAL;
                        break;
                case ARG_COLD_AGE:
                        if ((r = parse_duration(optarg, &o->policy.cold_age_usec)) < 0)
                                return bad_value("cold-age", optarg, r);
                        o->policy_set |= CONF_POLICY_COLD_AGE;
                        break;
                case ARG_RATE:
                        if ((r = parse_size(optarg, &o->policy.rate_bytes_per_sec)) < 0)
                                return bad_value("rate", optarg, r);
                        o->policy_set |= CONF_POLICY_RATE;
                        break;
                case ARG_FLOOR:
                        if ((r = parse_size(optarg, &o->policy.floor_bytes)) < 0)
                                return bad_value("floor", optarg, r);
                        o->policy_set |= CONF_POLICY_FLOOR;
                        break;
                case ARG_PSI_LIMIT:
                        if ((r = parse_percent(optarg, &o->policy.psi_limit_permyriad)) < 0)
                                return bad_value("psi-limit", optarg, r);
                        o->policy_set |= CONF_POLICY_PSI_LIMIT;
                        break;
                case ARG_REARM_PERIOD:
                        if ((r = parse_uint_arg("rearm-period", optarg, POLICY_COLD_AGE_MAX_CYCLES,
                                                &o->policy.rearm_period_cycles)) < 0)
                                return r;
                        o->policy_set |= CONF_POLICY_REARM_PERIOD;
                        break;
                case ARG_ARM_LEVEL_MAX:
                        if ((r = parse_uint_arg("arm-level-max", optarg, ARM_LEVEL_MAX_LIMIT,
                                                &o->policy.arm_level_max)) < 0)
                                return r;
                        o->policy_set |= CONF_POLICY_ARM_LEVEL_MAX;
                        break;
                case ARG_DRY_RUN:
                        o->dry_run_all = true;
                        break;
                case ARG_STATS_INTERVAL:
                        if ((r = parse_duration(optarg, &o->stats_interval_usec)) < 0 ||
                            o->stats_interval_usec == 0)
                                return bad_value("stats-interval", optarg, r < 0 ? r : -ERANGE);
                        break;
                case ARG_MAX_CLIENTS:
                        if ((r = parse_uint_arg("max-clients-per-uid", optarg, 1U << 20,
                                                &o->limits.clients_per_uid)) < 0)
                                return r;
                        o->limits_set |= CONF_LIMIT_CLIENTS_PER_UID;
                        break;
                case ARG_MAX_RANGES:
                        if ((r = parse_uint_arg("max-ranges", optarg, 1U << 20,
                                                &o->limits.ranges_per_client)) < 0)
                                return r;
                        o->limits_set |= CONF_LIMIT_RANGES;
                        break;
                case ARG_MAX_BYTES:
                        if ((r = parse_size(optarg, &o->limits.bytes_per_client)) < 0)
                                return bad_value("max-bytes", optarg, r);
                        o->limits_set |= CONF_LIMIT_BYTES;
                        break;
                case ARG_CONN_RATE:
                        if ((r = parse_uint_arg("conn-rate", optarg, 1U << 20,
                                                &o->limits.connections_per_sec)) < 0)
                                return r;
                        o->limits_set |= CONF_LIMIT_CONNECTIONS_PER_SEC; /* the burst follows */
                        break;
                case ARG_MAX_CONNECTIONS:
                        if ((r = parse_uint_arg("max-connections", optarg, 1U << 20,
                                                &o->limits.connections_total)) < 0)
                                return r;
                        o->limits_set |= CONF_LIMIT_CONNECTIONS_TOTAL;
                        if (o->limits.connections_total < 1) {
                                log_error("--max-connections must be at least 1");
                                return -EINVAL;
                        }
                        break;
                case ARG_NO_MLOCK:
                        a->mlock = false;
                        break;
                case ARG_BUS_ADDRESS:
                        if (!optarg[0])
                                return bad_value("bus-address", optarg, -EINVAL);
                        a->bus_address = optarg;
                        break;
                case ARG_NO_BUS:
                        a->no_bus = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }
        if (a->json && !a->probe) {
                log_error("--json only goes with --probe");
                return -EINVAL;
        }
        return 1;
}

static int run_probe(bool json) {
        ProbeInput in;
        ProbeResult res;
        int r;

        r = probe_run(&probe_paths_default, &in);
        if (r < 0)
                return log_error_errno(r, "probe failed: %m");
        r = probe_decide(&in, &res);
        if (r < 0)
                return log_error_errno(r, "probe decision failed: %m");
        r = json ? probe_print_json(stdout, &in, &res) : probe_print_text(stdout, &in, &res);
        if (r < 0)
                return log_error_errno(r, "cannot print the probe: %m");
        return 0;
}

/* The D-Bus API: required when an address was given, optional on the system bus (a machine
 * without one still tiers memory). */
static int setup_bus(Manager *m, const Args *a, ManagerBus **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *address = a->bus_address;
        int r;

        *ret = NULL;
        if (a->no_bus)
                return 0;
        if (!address && getenv(UFFDTIER_BUS_ADDRESS_ENV) && getenv(UFFDTIER_BUS_ADDRESS_ENV)[0])
                address = getenv(UFFDTIER_BUS_ADDRESS_ENV);
        r = manager_bus_new(m, address, &e, ret);
        if (r < 0 && address)
                return log_error_errno(r, "D-Bus API: %s", e.message ?: strerror(-r));
        if (r < 0) {
                log_notice("no D-Bus API: %s", e.message ?: strerror(-r));
                return 0;
        }
        log_info("D-Bus API on %s as %s", address ?: "the system bus", UFFDTIER_BUS_NAME);
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(manager_freep) Manager *m = NULL;
        /* declared after m: freed first, so the bus never outlives what it shows */
        _cleanup_(manager_bus_freep) ManagerBus *bus = NULL;
        Args a = { .mlock = true };
        int r;

        log_set_ident("uffdtierd");
        r = manager_new(&m);
        if (r < 0) {
                log_error_errno(r, "cannot create the manager: %m");
                return EXIT_FAILURE;
        }
        r = parse_argv(argc, argv, m, &a);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (a.probe)
                return run_probe(a.json) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = setup_bus(m, &a, &bus);
        if (r < 0)
                return EXIT_FAILURE;

        /* The daemon resolves the faults of the memory it manages: it must never wait for its
         * own pages to come back from swap. (Not under ASan, whose shadow map is terabytes.) */
        if (a.mlock && !UNDER_ASAN && mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
                log_warning_errno(errno,
                                  "mlockall() failed, the daemon itself may be swapped out: %m");

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
