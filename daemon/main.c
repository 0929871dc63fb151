/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "conf.h"
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

#define HELP_COLUMN 29

static void help_line(const char *option, const char *arg, const char *text) {
        int n = option ? printf("     --%s%s%s", option, arg ? "=" : "", arg ?: "") : 0;

        for (const char *l = text; l;) {
                const char *nl = strchr(l, '\n');

                printf("%*s%.*s\n", MAX(HELP_COLUMN - n, 1), "",
                       nl ? (int) (nl - l) : (int) strlen(l), l);
                n = 0;
                l = nl ? nl + 1 : NULL;
        }
}

static void help(void) {
        const char *arg, *text, *section, *key;

        printf("uffdtierd [OPTIONS...]\n\n"
               "Tiers the memory of cooperating processes: tracks which pages they access through\n"
               "their userfaultfd and pages out the cold ones.\n\n"
               "  -h --help                  Show this help\n");
        help_line("version", NULL, "Show the version");
        help_line("probe", NULL, "Print what this kernel offers and which backend runs, then exit");
        help_line("json", NULL, "With --probe: print JSON");
        help_line("config", "PATH",
                  "Configuration file (default " SYSCONFDIR "/uffdtierd/uffdtierd.conf);\n"
                  "policies are read from policy.d/ next to it");
        help_line("backend", "NAME", "Force rwp or wp-async (default: the best the kernel has)");
        help_line("dry-run", NULL,
                  "Monitor only, whatever the policies say: classify, never evict");
        help_line("no-mlock", NULL, "Do not lock the daemon's memory");
        help_line("bus-address", "ADDRESS",
                  "Serve the D-Bus API on this bus (default: $" UFFDTIER_BUS_ADDRESS_ENV ",\n"
                  "else the system bus if there is one)");
        help_line("no-bus", NULL, "Do not serve the D-Bus API");
        printf("\nSettings of the configuration file (see uffdtierd.conf(5)), which they override:\n");
        for (size_t i = 0; config_option_name(i); i++) {
                char where[64];

                config_option_help(i, &arg, &text, &section, &key);
                help_line(config_option_name(i), arg, text);
                snprintf(where, sizeof where, "(%s= in [%s])", key, section);
                help_line(NULL, NULL, where);
        }
        printf("\nSIGHUP reloads the configuration; the options stay in force.\n");
}

enum {
        ARG_VERSION = 0x100,
        ARG_PROBE,
        ARG_JSON,
        ARG_BACKEND,
        ARG_DRY_RUN,
        ARG_NO_MLOCK,
        ARG_BUS_ADDRESS,
        ARG_NO_BUS,
        ARG_CONFIG,
        ARG_SETTING, /* + the index of a configuration key's option (conf.h) */
};

typedef struct Args {
        bool probe, json, mlock;
        bool no_bus;
        const char *bus_address; /* NULL: the system bus, if any */
} Args;

static int bad_value(const char *opt, const char *value) {
        log_error("invalid value for --%s: \"%s\"", opt, value);
        return -EINVAL;
}

static int parse_argv(int argc, char **argv, Manager *m, Args *a) {
        static const struct option own[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "probe", no_argument, NULL, ARG_PROBE },
                { "json", no_argument, NULL, ARG_JSON },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "no-mlock", no_argument, NULL, ARG_NO_MLOCK },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "no-bus", no_argument, NULL, ARG_NO_BUS },
                { "config", required_argument, NULL, ARG_CONFIG },
        };
        struct option options[ELEMENTSOF(own) + 32] = {};
        size_t n = ELEMENTSOF(own);
        int c, r;

        memcpy(options, own, sizeof own);
        for (size_t i = 0; config_option_name(i); i++) {
                assert(n + 1 < ELEMENTSOF(options));
                options[n++] = (struct option){ config_option_name(i), required_argument, NULL,
                                                ARG_SETTING + (int) i };
        }

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
                case ARG_CONFIG:
                        if (optarg[0] == '\0')
                                return bad_value("config", optarg);
                        free(m->config_path);
                        if (!(m->config_path = strdup(optarg)))
                                return log_oom();
                        m->config_required = true;
                        break;
                case ARG_BACKEND:
                        r = backend_from_string(optarg);
                        if (r < 0 || r == BACKEND_NONE)
                                return bad_value("backend", optarg);
                        m->backend = r;
                        break;
                case ARG_DRY_RUN:
                        m->overrides.dry_run_all = true;
                        break;
                case ARG_NO_MLOCK:
                        a->mlock = false;
                        break;
                case ARG_BUS_ADDRESS:
                        if (!optarg[0])
                                return bad_value("bus-address", optarg);
                        a->bus_address = optarg;
                        break;
                case ARG_NO_BUS:
                        a->no_bus = true;
                        break;
                default:
                        if (c >= ARG_SETTING && config_option_name(c - ARG_SETTING)) {
                                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                                r = config_option_parse(&m->overrides, c - ARG_SETTING, optarg, &e);
                                if (r < 0) {
                                        log_error("%s", e.message ?: strerror(-r));
                                        return -EINVAL;
                                }
                                /* the level counts from here on, before the file is read */
                                if (m->overrides.config.config_set & CONF_DAEMON_LOG_LEVEL)
                                        log_set_max_level(m->overrides.config.log_level);
                                break;
                        }
                        return -EINVAL; /* getopt said why */
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
