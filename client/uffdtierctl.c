/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uffdtierctl: the command line for uffdtierd's D-Bus API (docs/uffdtierctl.1). It speaks D-Bus
 * only — libsystemd plus daemon/common — and never links the daemon's core (as oomctl). */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus-names.h"
#include "bus-props.h"
#include "config.h"
#include "macro.h"
#include "parse.h"

/* Exit codes (uffdtierctl(1)). */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2, /* unknown verb, bad argument */
        EXIT_NOT_RUNNING = 3, /* no bus, or nobody owns org.uffdtier1 */
        EXIT_DENIED = 4, /* the daemon or the bus policy refused */
        EXIT_NO_CLIENT = 5,
};

static bool arg_json;
static const char *arg_bus_address;
static const char *arg_output; /* metrics --output=FILE */
static const char *arg_verb_name;

#define N_BUCKETS UFFDTIER_BUS_AGE_BUCKETS

/* ---- properties, read from GetAll() by the daemon's own table (bus-props.h) ---- */

typedef struct Prop {
        const BusProp *d;
        size_t offset; /* in ManagerInfo or ClientInfo */
} Prop;

#define FIELD_STR(id) char *id;
#define FIELD_U64(id) uint64_t id;
#define FIELD_U32(id) uint32_t id;
#define FIELD_I32(id) int32_t id;
#define FIELD_BOOL(id) bool id;
#define FIELD_STRV(id) char **id;
#define FIELD_BUCKETS(id) uint64_t id[N_BUCKETS];
#define FIELD(id, name, type, ...) FIELD_##type(id)

typedef struct ManagerInfo {
        UFFDTIER_MANAGER_PROPERTIES(FIELD)
} ManagerInfo;

typedef struct ClientInfo {
        UFFDTIER_CLIENT_PROPERTIES(FIELD)
} ClientInfo;

#define MANAGER_PROP(id, ...) \
        { &uffdtier_manager_props[MANAGER_PROP_##id], offsetof(ManagerInfo, id) },
#define CLIENT_PROP(id, ...) { &uffdtier_client_props[CLIENT_PROP_##id], offsetof(ClientInfo, id) },
static const Prop manager_props[] = { UFFDTIER_MANAGER_PROPERTIES(MANAGER_PROP){} };
static const Prop client_props[] = { UFFDTIER_CLIENT_PROPERTIES(CLIENT_PROP){} };

static void strv_free(char **l) {
        for (char **p = l; p && *p; p++)
                free(*p);
        free(l);
}

static void props_done(const Prop *table, void *dest) {
        for (const Prop *p = table; p->d; p++) {
                void *f = (char *) dest + p->offset;
                if (p->d->type == BUS_TYPE_STR)
                        free(*(char **) f);
                else if (p->d->type == BUS_TYPE_STRV)
                        strv_free(*(char ***) f);
        }
}

static void manager_info_done(ManagerInfo *m) {
        props_done(manager_props, m);
}

static void client_info_done(ClientInfo *c) {
        props_done(client_props, c);
}

static int read_strv(sd_bus_message *m, char ***ret) {
        char **l = NULL;
        size_t n = 0;
        const char *s;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "s", &s)) > 0) {
                char **nl = realloc(l, (n + 2) * sizeof *l);
                if (!nl || !(nl[n] = strdup(s))) {
                        free(nl ? nl : l);
                        return -ENOMEM;
                }
                l = nl;
                l[++n] = NULL;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0) {
                strv_free(l);
                return r;
        }
        if (!l && !(l = calloc(1, sizeof *l)))
                return -ENOMEM;
        *ret = l;
        return 0;
}

static int read_prop(sd_bus_message *m, const Prop *p, void *dest) {
        void *f = (char *) dest + p->offset;
        const char *s;
        const void *v;
        size_t n;
        int b, r;

        r = sd_bus_message_enter_container(m, 'v', bus_type_signature[p->d->type]);
        if (r < 0)
                return r;
        switch (p->d->type) {
        case BUS_TYPE_STR:
                r = sd_bus_message_read(m, "s", &s);
                if (r >= 0 && !(*(char **) f = strdup(s)))
                        r = -ENOMEM;
                break;
        case BUS_TYPE_U64:
                r = sd_bus_message_read(m, "t", f);
                break;
        case BUS_TYPE_U32:
                r = sd_bus_message_read(m, "u", f);
                break;
        case BUS_TYPE_I32:
                r = sd_bus_message_read(m, "i", f);
                break;
        case BUS_TYPE_BOOL:
                r = sd_bus_message_read(m, "b", &b);
                if (r >= 0)
                        *(bool *) f = b;
                break;
        case BUS_TYPE_STRV:
                r = read_strv(m, f);
                break;
        case BUS_TYPE_BUCKETS:
                r = sd_bus_message_read_array(m, 't', &v, &n);
                if (r >= 0)
                        memcpy(f, v, MIN(n, N_BUCKETS * sizeof(uint64_t)));
                break;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_all_props(sd_bus_message *m, const Prop *table, void *dest) {
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const Prop *p = table;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                while (p->d && !streq(p->d->name, name))
                        p++;
                r = p->d ? read_prop(m, p, dest) : sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* ---- errors: say what went wrong and what to do ---- */

static int fail_bus(int r, const sd_bus_error *e, const char *what) {
        const char *msg = e && e->message ? e->message : strerror(r < 0 ? -r : r);

        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                   SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr,
                        "uffdtierd is not running: nobody owns %s on the bus.\n"
                        "Start it (systemctl start uffdtierd) or point uffdtierctl at its bus with "
                        "--bus-address= or $%s.\n",
                        UFFDTIER_BUS_NAME, UFFDTIER_BUS_ADDRESS_ENV);
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_names(e, UFFDTIER_BUS_ERROR_ACCESS_DENIED,
                                   SD_BUS_ERROR_ACCESS_DENIED)) {
                fprintf(stderr,
                        "Permission denied: %s\nRun \"uffdtierctl %s\" as root (e.g. with sudo).\n",
                        msg, arg_verb_name ?: "");
                return EXIT_DENIED;
        }
        if (sd_bus_error_has_name(e, UFFDTIER_BUS_ERROR_NO_SUCH_CLIENT)) {
                fprintf(stderr, "%s\n\"uffdtierctl list\" shows the clients.\n", msg);
                return EXIT_NO_CLIENT;
        }
        if (sd_bus_error_has_name(e, UFFDTIER_BUS_ERROR_INVALID_ARGUMENT)) {
                fprintf(stderr, "Invalid argument: %s\n", msg);
                return EXIT_USAGE;
        }
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                                   SD_BUS_ERROR_DISCONNECTED)) {
                fprintf(stderr, "uffdtierd did not answer %s: %s\n", what, msg);
                return EXIT_NOT_RUNNING;
        }
        fprintf(stderr, "Failed to %s: %s%s%s%s\n", what, msg, e && e->name ? " (" : "",
                e && e->name ? e->name : "", e && e->name ? ")" : "");
        return EXIT_FAIL;
}

static int fail_oom(void) {
        fprintf(stderr, "Out of memory.\n");
        return EXIT_FAIL;
}

/* ---- calls ---- */

static int bus_connect(sd_bus **ret) {
        const char *address = arg_bus_address;
        sd_bus *bus = NULL;
        int r;

        if (!address && getenv(UFFDTIER_BUS_ADDRESS_ENV) && getenv(UFFDTIER_BUS_ADDRESS_ENV)[0])
                address = getenv(UFFDTIER_BUS_ADDRESS_ENV);
        if (!address)
                r = sd_bus_open_system(&bus);
        else {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        }
        if (r < 0) {
                sd_bus_unref(bus);
                fprintf(stderr, "Cannot connect to %s: %s\n%s", address ?: "the system bus",
                        strerror(-r),
                        address ? "Check the address (--bus-address= or $" UFFDTIER_BUS_ADDRESS_ENV
                                  ").\n"
                                : "Is D-Bus running? uffdtierctl talks to uffdtierd over the system bus "
                                  "(or --bus-address=, $" UFFDTIER_BUS_ADDRESS_ENV ").\n");
                return EXIT_NOT_RUNNING;
        }
        *ret = bus;
        return 0;
}

static int call_manager(sd_bus *bus, const char *method, const char *what, sd_bus_message **reply,
                        const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, UFFDTIER_BUS_NAME, UFFDTIER_BUS_PATH,
                                           UFFDTIER_BUS_MANAGER_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return fail_bus(r, NULL, what);
        /* Reload and EvictNow may ask for authentication one day */
        (void) sd_bus_message_set_allow_interactive_authorization(m, true);
        r = sd_bus_call(bus, m, 0, &e, reply);
        if (r < 0)
                return fail_bus(r, &e, what);
        return 0;
}

static int get_manager(sd_bus *bus, ManagerInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, UFFDTIER_BUS_NAME, UFFDTIER_BUS_PATH,
                               "org.freedesktop.DBus.Properties", "GetAll", &e, &reply, "s",
                               UFFDTIER_BUS_MANAGER_INTERFACE);
        if (r < 0)
                return fail_bus(r, &e, "read the daemon's properties");
        *ret = (ManagerInfo){};
        r = read_all_props(reply, manager_props, ret);
        if (r < 0) {
                manager_info_done(ret);
                return fail_bus(r, NULL, "parse the daemon's properties");
        }
        return 0;
}

/* 0, or -ESRCH (silently) when the client is gone, or an exit code > 0 after a message. */
static int get_client(sd_bus *bus, uint64_t id, bool quiet_if_gone, ClientInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char path[sizeof(UFFDTIER_BUS_CLIENT_PREFIX) + 24];
        int r;

        snprintf(path, sizeof path, UFFDTIER_BUS_CLIENT_PREFIX "/%" PRIu64, id);
        r = sd_bus_call_method(bus, UFFDTIER_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                               "GetAll", &e, &reply, "s", UFFDTIER_BUS_CLIENT_INTERFACE);
        if (r < 0 && quiet_if_gone &&
            sd_bus_error_has_names(&e, UFFDTIER_BUS_ERROR_NO_SUCH_CLIENT,
                                   SD_BUS_ERROR_UNKNOWN_OBJECT))
                return -ESRCH; /* exited between ListClients() and now */
        if (r < 0)
                return fail_bus(r, &e, "read the client's properties");
        *ret = (ClientInfo){};
        r = read_all_props(reply, client_props, ret);
        if (r < 0) {
                client_info_done(ret);
                return fail_bus(r, NULL, "parse the client's properties");
        }
        return 0;
}

typedef struct ClientList {
        ClientInfo *v;
        size_t n;
} ClientList;

static void client_list_done(ClientList *l) {
        for (size_t i = 0; i < l->n; i++)
                client_info_done(&l->v[i]);
        free(l->v);
        *l = (ClientList){};
}

/* Every client, in id order; those that exit meanwhile are left out. */
static int get_clients(sd_bus *bus, ClientList *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ClientList l = {};
        uint64_t id;
        int r;

        r = call_manager(bus, "ListClients", "list the clients", &reply, NULL);
        if (r != 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', UFFDTIER_BUS_LIST_CLIENTS_ENTRY);
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, UFFDTIER_BUS_LIST_CLIENTS_ENTRY, &id, NULL, NULL,
                                        NULL, NULL, NULL, NULL, NULL)) > 0) {
                ClientInfo *v = realloc(l.v, (l.n + 1) * sizeof *v);

                if (!v) {
                        client_list_done(&l);
                        return fail_oom();
                }
                l.v = v;
                r = get_client(bus, id, true, &l.v[l.n]);
                if (r == -ESRCH) {
                        r = 0;
                        continue;
                }
                if (r != 0) {
                        client_list_done(&l);
                        return r;
                }
                l.n++;
        }
        if (r < 0) {
                client_list_done(&l);
                return fail_bus(r, NULL, "parse the client list");
        }
        *ret = l;
        return 0;
}

/* An id, else a pid: ids are small counters, pids rarely collide with them. */
static int resolve_client(sd_bus *bus, const char *arg, uint64_t *ret_id) {
        ClientList l = {};
        uint64_t v;
        int r;

        if (parse_u64(arg, &v) < 0 || v == 0) {
                fprintf(stderr,
                        "\"%s\" is not a client id or pid.\n\"uffdtierctl list\" shows the clients.\n",
                        arg);
                return EXIT_USAGE;
        }
        r = get_clients(bus, &l);
        if (r != 0)
                return r;
        for (size_t i = 0; i < l.n; i++)
                if (l.v[i].id == v) {
                        *ret_id = v;
                        client_list_done(&l);
                        return 0;
                }
        for (size_t i = 0; i < l.n; i++)
                if (l.v[i].pid == v) {
                        *ret_id = l.v[i].id;
                        client_list_done(&l);
                        return 0;
                }
        client_list_done(&l);
        fprintf(stderr, "No client with id or pid %s.\n\"uffdtierctl list\" shows the clients.\n",
                arg);
        return EXIT_NO_CLIENT;
}

/* ---- output helpers ---- */

static void json_str(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) (s ?: ""); *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

/* One object of the table's properties, keyed by their D-Bus names. */
static void json_props(FILE *f, const Prop *table, const void *src, const char *indent) {
        fputs("{", f);
        for (const Prop *p = table; p->d; p++) {
                const void *v = (const char *) src + p->offset;

                fprintf(f, "%s\n%s  ", p == table ? "" : ",", indent);
                json_str(f, p->d->name);
                fputs(": ", f);
                switch (p->d->type) {
                case BUS_TYPE_STR:
                        json_str(f, *(char *const *) v);
                        break;
                case BUS_TYPE_U64:
                        fprintf(f, "%" PRIu64, *(const uint64_t *) v);
                        break;
                case BUS_TYPE_U32:
                        fprintf(f, "%" PRIu32, *(const uint32_t *) v);
                        break;
                case BUS_TYPE_I32:
                        fprintf(f, "%" PRIi32, *(const int32_t *) v);
                        break;
                case BUS_TYPE_BOOL:
                        fputs(*(const bool *) v ? "true" : "false", f);
                        break;
                case BUS_TYPE_STRV: {
                        char *const *l = *(char **const *) v;
                        fputs("[", f);
                        for (size_t i = 0; l && l[i]; i++) {
                                fputs(i ? ", " : "", f);
                                json_str(f, l[i]);
                        }
                        fputs("]", f);
                        break;
                }
                case BUS_TYPE_BUCKETS:
                        fputs("[", f);
                        for (size_t i = 0; i < N_BUCKETS; i++)
                                fprintf(f, "%s%" PRIu64, i ? ", " : "", ((const uint64_t *) v)[i]);
                        fputs("]", f);
                        break;
                }
        }
        fprintf(f, "\n%s}", indent);
}

/* systemctl show style: Key=Value, one a line. */
static void show_props(FILE *f, const Prop *table, const void *src) {
        for (const Prop *p = table; p->d; p++) {
                const void *v = (const char *) src + p->offset;

                printf("%s=", p->d->name);
                switch (p->d->type) {
                case BUS_TYPE_STR:
                        fputs(*(char *const *) v ?: "", f);
                        break;
                case BUS_TYPE_U64:
                        fprintf(f, "%" PRIu64, *(const uint64_t *) v);
                        break;
                case BUS_TYPE_U32:
                        fprintf(f, "%" PRIu32, *(const uint32_t *) v);
                        break;
                case BUS_TYPE_I32:
                        fprintf(f, "%" PRIi32, *(const int32_t *) v);
                        break;
                case BUS_TYPE_BOOL:
                        fputs(*(const bool *) v ? "yes" : "no", f);
                        break;
                case BUS_TYPE_STRV:
                        for (char *const *l = *(char **const *) v; l && *l; l++)
                                fprintf(f, "%s%s", l == *(char **const *) v ? "" : " ", *l);
                        break;
                case BUS_TYPE_BUCKETS:
                        for (size_t i = 0; i < N_BUCKETS; i++)
                                fprintf(f, "%s%" PRIu64, i ? " " : "", ((const uint64_t *) v)[i]);
                        break;
                }
                fputc('\n', f);
        }
}

static const char *fmt_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t v) {
        return format_bytes(buf, FORMAT_BYTES_MAX, v);
}

/* The bucket of WorkingSetBytes that covers the cold age: accessed within cold age = what the
 * daemon keeps resident. Bucket i counts pages accessed within the last 2^i cycles. */
static unsigned wss_bucket(const ManagerInfo *m) {
        uint64_t cycles = m->interval_usec ? DIV_ROUND_UP(m->cold_age_usec, m->interval_usec) : 1;
        unsigned i = 0;

        while (i < N_BUCKETS - 1 && (1ULL << i) < cycles)
                i++;
        return i;
}

/* Refaulted as a share of evicted: how often eviction guessed wrong. */
static void fmt_refault(char *buf, size_t n, uint64_t refaulted, uint64_t evicted) {
        if (evicted == 0)
                snprintf(buf, n, "-");
        else
                snprintf(buf, n, "%.1f%%", 100.0 * (double) refaulted / (double) evicted);
}

/* The daemon shows a client's pid, uid, name, cgroup, last error and histogram only to root and
 * to the client's own uid; others read 0 and "" (docs/org.uffdtier1.5, VISIBILITY). No
 * process has pid 0. */
static bool detail_hidden(const ClientInfo *x) {
        return x->pid == 0;
}

static const char *fmt_u32_or_dash(char buf[static 16], uint32_t v, bool hidden) {
        if (hidden)
                return "-";
        snprintf(buf, 16, "%" PRIu32, v);
        return buf;
}

/* ---- verbs ---- */

static int verb_status(sd_bus *bus, int argc, char **argv) {
        ManagerInfo m = {};
        ClientList l = {};
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX], d[FORMAT_BYTES_MAX];
        char ia[FORMAT_DURATION_MAX], ca[FORMAT_DURATION_MAX], rf[16], pb[16];
        bool *done;
        unsigned wb;
        int r;

        r = get_manager(bus, &m);
        if (r != 0)
                return r;
        r = get_clients(bus, &l);
        if (r != 0) {
                manager_info_done(&m);
                return r;
        }
        if (arg_json) {
                printf("{\n  \"Manager\": ");
                json_props(stdout, manager_props, &m, "  ");
                printf(",\n  \"Clients\": [");
                for (size_t i = 0; i < l.n; i++) {
                        printf("%s\n    ", i ? "," : "");
                        json_props(stdout, client_props, &l.v[i], "    ");
                }
                printf("%s]\n}\n", l.n ? "\n  " : "");
                goto out;
        }

        wb = wss_bucket(&m);
        printf("● uffdtierd %s - %s\n", m.version,
               m.paused                 ? "paused (no client evicts)"
                       : m.monitor_only ? "monitoring only"
                                        : "running");
        printf("     Backend: %s\n", m.backend);
        for (char **s = m.cannot_see; s && *s; s++)
                printf("%s%s\n", s == m.cannot_see ? "  Cannot see: " : "              ", *s);
        if (m.monitor_only)
                printf("Monitor only: %s\n", m.monitor_only_reason);
        printf("       Cycle: every %s, cold after %s\n",
               format_duration(ia, sizeof ia, m.interval_usec),
               format_duration(ca, sizeof ca, m.cold_age_usec));
        printf("     Clients: %" PRIu32 "\n", m.n_clients);
        printf("     Tracked: %s (resident %s, hot %s, cold %s)\n", fmt_bytes(a, m.tracked),
               fmt_bytes(b, m.resident), fmt_bytes(c, m.hot), fmt_bytes(d, m.cold));
        fmt_refault(rf, sizeof rf, m.refaulted, m.evicted);
        printf("     Evicted: %s (refaulted %s, %s)\n", fmt_bytes(a, m.evicted),
               fmt_bytes(b, m.refaulted), rf);
        printf("       Freed: %s of %s paged out and still in swap (left RAM; %s of the tracked memory in swap)\n",
               fmt_bytes(a, m.freed), fmt_bytes(b, m.paged_out), fmt_bytes(c, m.swapped));
        printf("        Swap: %s\n", m.swap_setup);
        if (!m.pageout_frees && m.swap_remedy[0])
                printf("     Warning: a page-out does not free memory at once here: %s\n",
                       m.swap_remedy);
        printf(" Working set: %s (accessed within the cold age)\n", fmt_bytes(a, m.wss[wb]));

        /* one block per cgroup, in the order of the first client of each */
        done = calloc(l.n + 1, sizeof *done);
        if (!done) {
                r = fail_oom();
                goto out;
        }
        for (size_t i = 0; i < l.n; i++) {
                if (done[i])
                        continue;
                printf("\nCGroup %s%s%s%s:\n",
                       l.v[i].cgroup[0]                 ? l.v[i].cgroup
                               : detail_hidden(&l.v[i]) ? "(not shown: another user's clients)"
                                                        : "(unknown)",
                       l.v[i].unit[0] ? " (" : "", l.v[i].unit, l.v[i].unit[0] ? ")" : "");
                /* where "freed" and the pressure back-off read from: the first client's view */
                printf("  memory from %s%s, pressure from %s\n", l.v[i].memory_source,
                       l.v[i].memory_shared ? " (shared with other processes)" : "",
                       l.v[i].psi_source);
                printf("  %6s %8s %-16s %9s %9s %9s %9s %8s  %s\n", "ID", "PID", "NAME", "RESIDENT",
                       "EVICTED", "FREED", "WORKSET", "REFAULT", "POLICY");
                for (size_t j = i; j < l.n; j++) {
                        const ClientInfo *x = &l.v[j];

                        if (done[j] || !streq(x->cgroup, l.v[i].cgroup))
                                continue;
                        done[j] = true;
                        fmt_refault(rf, sizeof rf, x->refaulted, x->evicted);
                        printf("  %6" PRIu64 " %8s %-16.16s %9s %9s %9s %9s %8s  %s%s%s\n", x->id,
                               fmt_u32_or_dash(pb, x->pid, detail_hidden(x)),
                               x->name[0] ? x->name : "-", fmt_bytes(a, x->resident),
                               fmt_bytes(b, x->evicted), fmt_bytes(c, x->freed),
                               fmt_bytes(d, x->wss[wb]), rf, x->policy,
                               x->last_error[0] ? "  error: " : "", x->last_error);
                }
        }
        free(done);
out:
        client_list_done(&l);
        manager_info_done(&m);
        return r;
}

static int verb_list(sd_bus *bus, int argc, char **argv) {
        ClientList l = {};
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX], pb[16], ub[16];
        int r;

        r = get_clients(bus, &l);
        if (r != 0)
                return r;
        if (arg_json) {
                printf("[");
                for (size_t i = 0; i < l.n; i++) {
                        printf("%s\n  ", i ? "," : "");
                        json_props(stdout, client_props, &l.v[i], "  ");
                }
                printf("%s]\n", l.n ? "\n" : "");
        } else {
                printf("%6s %8s %6s %-16s %-9s %9s %9s %9s  %s\n", "ID", "PID", "UID", "NAME",
                       "POLICY", "TRACKED", "RESIDENT", "EVICTED", "CGROUP");
                for (size_t i = 0; i < l.n; i++) {
                        const ClientInfo *x = &l.v[i];
                        printf("%6" PRIu64 " %8s %6s %-16.16s %-9.9s %9s %9s %9s  %s\n", x->id,
                               fmt_u32_or_dash(pb, x->pid, detail_hidden(x)),
                               fmt_u32_or_dash(ub, x->uid, detail_hidden(x)),
                               x->name[0] ? x->name : "-", x->policy, fmt_bytes(a, x->tracked),
                               fmt_bytes(b, x->resident), fmt_bytes(c, x->evicted), x->cgroup);
                }
                printf("\n%zu client%s listed.\n", l.n, l.n == 1 ? "" : "s");
        }
        client_list_done(&l);
        return 0;
}

static int verb_show(sd_bus *bus, int argc, char **argv) {
        ClientInfo c = {};
        uint64_t id = 0;
        int r;

        r = resolve_client(bus, argv[1], &id);
        if (r != 0)
                return r;
        r = get_client(bus, id, false, &c);
        if (r != 0)
                return r;
        if (arg_json) {
                json_props(stdout, client_props, &c, "");
                putchar('\n');
        } else
                show_props(stdout, client_props, &c);
        client_info_done(&c);
        return 0;
}

static void bucket_label(char *buf, size_t n, unsigned i) {
        if (i < 2)
                snprintf(buf, n, "%u", i);
        else
                snprintf(buf, n, "%u-%u", 1U << (i - 1), (1U << i) - 1);
}

#define BAR_WIDTH 40

static int verb_histogram(sd_bus *bus, int argc, char **argv) {
        ManagerInfo m = {};
        ClientInfo c = {};
        uint64_t id = 0, max = 0, total = 0;
        char a[FORMAT_BYTES_MAX], lbl[16], lo[FORMAT_DURATION_MAX];
        int r;

        r = resolve_client(bus, argv[1], &id);
        if (r == 0)
                r = get_manager(bus, &m);
        if (r != 0)
                return r;
        r = get_client(bus, id, false, &c);
        if (r != 0) {
                manager_info_done(&m);
                return r;
        }
        for (size_t i = 0; i < N_BUCKETS; i++) {
                max = MAX(max, c.age[i]);
                total += c.age[i];
        }
        if (arg_json) {
                printf("{\n  \"Id\": %" PRIu64 ",\n  \"ScanIntervalUSec\": %" PRIu64
                       ",\n  \"Buckets\": [",
                       c.id, m.interval_usec);
                for (unsigned i = 0; i < N_BUCKETS; i++)
                        printf("%s\n    { \"MinAgeCycles\": %u, \"MaxAgeCycles\": %u, \"Bytes\": %" PRIu64
                               " }",
                               i ? "," : "", i < 2 ? i : 1U << (i - 1), i < 1 ? 0 : (1U << i) - 1,
                               c.age[i]);
                printf("\n  ]\n}\n");
        } else {
                printf("Client %" PRIu64 " (%s, pid %" PRIu32
                       "): age of its %s tracked memory since last accessed,\n"
                       "in cycles of %s\n\n",
                       c.id, c.name[0] ? c.name : "unnamed", c.pid, fmt_bytes(a, total),
                       format_duration(lo, sizeof lo, m.interval_usec));
                printf("%10s %9s\n", "AGE", "BYTES");
                for (unsigned i = 0; i < N_BUCKETS; i++) {
                        unsigned w = max ? (unsigned) ((c.age[i] * BAR_WIDTH + max - 1) / max) : 0;

                        bucket_label(lbl, sizeof lbl, i);
                        printf("%10s %9s  |", lbl, fmt_bytes(a, c.age[i]));
                        for (unsigned k = 0; k < w; k++)
                                putchar('#');
                        putchar('\n');
                }
        }
        client_info_done(&c);
        manager_info_done(&m);
        return 0;
}

static int verb_dump(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *json;
        int r;

        r = call_manager(bus, "Dump", "get the dump", &reply, NULL);
        if (r != 0)
                return r;
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return fail_bus(r, NULL, "parse the dump");
        puts(json);
        return 0;
}

static int verb_reload(sd_bus *bus, int argc, char **argv) {
        return call_manager(bus, "Reload", "reload the configuration", NULL, NULL);
}

static int verb_pause(sd_bus *bus, int argc, char **argv) {
        bool pause = streq(argv[0], "pause");
        int r;

        r = call_manager(bus, "SetPaused", pause ? "pause eviction" : "resume eviction", NULL, "b",
                         (int) pause);
        if (r == 0)
                printf("%s\n",
                       pause ? "Paused: no client is evicted until \"uffdtierctl resume\"."
                             : "Resumed: cold memory is evicted again.");
        return r;
}

static int verb_evict(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t id = 0, bytes = 0, queued;
        char a[FORMAT_BYTES_MAX];
        int r;

        if (argc > 2 && (parse_size(argv[2], &bytes) < 0 || bytes % (uint64_t) page_size() != 0)) {
                fprintf(stderr,
                        "Invalid size \"%s\": give bytes with an optional K/M/G suffix, a multiple of "
                        "the page size (%zu).\n",
                        argv[2], page_size());
                return EXIT_USAGE;
        }
        r = resolve_client(bus, argv[1], &id);
        if (r != 0)
                return r;
        r = call_manager(bus, "EvictNow", "evict", &reply, "tt", id, bytes);
        if (r != 0)
                return r;
        r = sd_bus_message_read(reply, "t", &queued);
        if (r < 0)
                return fail_bus(r, NULL, "parse the reply");
        if (arg_json)
                printf("{ \"Id\": %" PRIu64 ", \"QueuedBytes\": %" PRIu64 " }\n", id, queued);
        else
                printf("Client %" PRIu64 ": %s of cold memory queued for eviction.\n", id,
                       fmt_bytes(a, queued));
        return 0;
}

/* ---- metrics: the Prometheus text exposition format ---- */

static void prom_label_value(FILE *f, const char *s) {
        fputc('"', f);
        for (const char *p = s ?: ""; *p; p++) {
                if (*p == '\\' || *p == '"')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The clients of one label set: series are labelled by name, cgroup and policy only (no id or
 * pid: one series per process would grow without bound as processes come and go, and a pid tells
 * a scraper more than it needs), so clients that share all three are added up. */
typedef struct MetricGroup {
        const ClientInfo *first; /* its labels */
        unsigned n_clients;
        ClientInfo sum; /* added up; the cgroup's usage and the p99 fault latency: the largest */
} MetricGroup;

static void prom_group_labels(FILE *f, const MetricGroup *g) {
        fputs("{name=", f);
        prom_label_value(f, g->first->name);
        fputs(",cgroup=", f);
        prom_label_value(f, g->first->cgroup);
        fputs(",policy=", f);
        prom_label_value(f, g->first->policy);
}

#define FIELD_OF(c, p) ((char *) (c) + (p)->offset)

/* The value of a group: the clients' added up, or for a figure they share (METRIC_SHARED: their
 * cgroup's) and for a percentile (METRIC_SECONDS) the largest. */
static void metric_add(const Prop *p, ClientInfo *sum, const ClientInfo *c) {
        uint64_t *to = (uint64_t *) FIELD_OF(sum, p);
        const uint64_t *from = (const uint64_t *) FIELD_OF(c, p);

        if (p->d->type == BUS_TYPE_BUCKETS)
                for (unsigned b = 0; b < N_BUCKETS; b++)
                        to[b] += from[b];
        else if (p->d->metric == METRIC_SHARED || p->d->metric == METRIC_SECONDS)
                *to = MAX(*to, *from);
        else
                *to += *from;
}

static MetricGroup *metric_groups(const ClientList *l, size_t *ret_n) {
        MetricGroup *g = calloc(l->n + 1, sizeof *g);
        size_t n = 0;

        if (!g)
                return NULL;
        for (size_t i = 0; i < l->n; i++) {
                const ClientInfo *c = &l->v[i];
                size_t k = 0;

                while (k < n &&
                       !(streq(g[k].first->name, c->name) && streq(g[k].first->cgroup, c->cgroup) &&
                         streq(g[k].first->policy, c->policy)))
                        k++;
                if (k == n)
                        g[n++].first = c;
                g[k].n_clients++;
                for (const Prop *p = client_props; p->d; p++)
                        if (p->d->metric != METRIC_NONE)
                                metric_add(p, &g[k].sum, c);
        }
        *ret_n = n;
        return g;
}

static void prom_value(FILE *f, const BusProp *d, const void *v) {
        if (d->metric == METRIC_SECONDS)
                fprintf(f, "%g\n", (double) *(const uint64_t *) v / 1e6);
        else if (d->type == BUS_TYPE_BOOL)
                fprintf(f, "%d\n", *(const bool *) v);
        else if (d->type == BUS_TYPE_U32)
                fprintf(f, "%" PRIu32 "\n", *(const uint32_t *) v);
        else
                fprintf(f, "%" PRIu64 "\n", *(const uint64_t *) v);
}

static void prom_head_of(FILE *f, const BusProp *d) {
        prom_head(f, d->metric_name, d->metric == METRIC_COUNTER ? "counter" : "gauge", d->help);
}

static void metrics_write(FILE *f, const ManagerInfo *m, const MetricGroup *g, size_t n_groups) {
        char lbl[16];

        prom_head(f, "uffdtier_info", "gauge", "The running uffdtierd: version and backend.");
        fprintf(f, "uffdtier_info{version=");
        prom_label_value(f, m->version);
        fprintf(f, ",backend=");
        prom_label_value(f, m->backend);
        fprintf(f, "} 1\n");
        for (const Prop *p = manager_props; p->d; p++) {
                if (p->d->metric == METRIC_NONE)
                        continue;
                prom_head_of(f, p->d);
                fprintf(f, "%s ", p->d->metric_name);
                prom_value(f, p->d, (const char *) m + p->offset);
        }
        prom_head(f, "uffdtier_client_group_clients", "gauge",
                  "Clients with this name, cgroup and policy (their uffdtier_client_* series are "
                  "added up).");
        for (size_t j = 0; j < n_groups; j++) {
                fprintf(f, "uffdtier_client_group_clients");
                prom_group_labels(f, &g[j]);
                fprintf(f, "} %u\n", g[j].n_clients);
        }
        for (const Prop *p = client_props; p->d; p++) {
                if (p->d->metric == METRIC_NONE)
                        continue;
                prom_head_of(f, p->d);
                for (size_t j = 0; j < n_groups; j++) {
                        const void *v = FIELD_OF(&g[j].sum, p);

                        if (p->d->type != BUS_TYPE_BUCKETS) {
                                fprintf(f, "%s", p->d->metric_name);
                                prom_group_labels(f, &g[j]);
                                fprintf(f, "} ");
                                prom_value(f, p->d, v);
                                continue;
                        }
                        for (unsigned b = 0; b < N_BUCKETS; b++) {
                                if (p->d->metric == METRIC_WINDOW)
                                        snprintf(lbl, sizeof lbl, "%u", 1U << b);
                                else
                                        bucket_label(lbl, sizeof lbl, b);
                                fprintf(f, "%s", p->d->metric_name);
                                prom_group_labels(f, &g[j]);
                                fprintf(f, ",%s=\"%s\"} %" PRIu64 "\n",
                                        p->d->metric == METRIC_WINDOW ? "window_cycles" : "age",
                                        lbl, ((const uint64_t *) v)[b]);
                        }
                }
        }
}

/* Replace PATH as a whole: a temporary file in its directory (a reader such as node_exporter's
 * textfile collector, which reads *.prom only, never sees it), written and synced, then renamed
 * over PATH. A reader sees the old file or the new one, never a part. */
static int metrics_write_file(const char *path, const ManagerInfo *m, const MetricGroup *g,
                              size_t n_groups) {
        const char *base = strrchr(path, '/');
        _cleanup_free_ char *tmp = NULL;
        FILE *f = NULL;
        int fd, r = 0;

        base = base ? base + 1 : path;
        if (!base[0]) {
                fprintf(stderr, "--output=%s names a directory, not a file.\n", path);
                return EXIT_USAGE;
        }
        if (asprintf(&tmp, "%.*s.%s.XXXXXX", (int) (base - path), path, base) < 0) {
                tmp = NULL;
                return fail_oom();
        }
        fd = mkstemp(tmp);
        if (fd < 0) {
                fprintf(stderr, "Cannot create a temporary file beside %s: %s\n", path,
                        strerror(errno));
                return EXIT_FAIL;
        }
        /* what the bus shows everyone: readable by the scraper's user */
        if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w")))
                r = -errno;
        else {
                metrics_write(f, m, g, n_groups);
                if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0)
                        r = -(errno ?: EIO);
        }
        if (f) {
                if (fclose(f) != 0 && r == 0)
                        r = -errno;
        } else
                (void) close(fd);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                fprintf(stderr, "Cannot write %s: %s\n", path, strerror(-r));
                return EXIT_FAIL;
        }
        return 0;
}

static int verb_metrics(sd_bus *bus, int argc, char **argv) {
        ManagerInfo m = {};
        ClientList l = {};
        MetricGroup *g;
        size_t n_groups = 0;
        int r;

        r = get_manager(bus, &m);
        if (r == 0)
                r = get_clients(bus, &l);
        if (r != 0) {
                manager_info_done(&m);
                return r;
        }
        g = metric_groups(&l, &n_groups);
        if (!g)
                r = fail_oom();
        else if (arg_output)
                r = metrics_write_file(arg_output, &m, g, n_groups);
        else
                metrics_write(stdout, &m, g, n_groups);
        free(g);
        client_list_done(&l);
        manager_info_done(&m);
        return r;
}

/* ---- command line ---- */

static void help(void) {
        printf("uffdtierctl [OPTIONS...] COMMAND ...\n\n"
               "Show and steer uffdtierd, the memory-tiering daemon, over D-Bus.\n\n"
               "Commands:\n"
               "  status                 Daemon state, totals and one line per client by cgroup\n"
               "  list                   List the clients\n"
               "  show ID|PID            Every property of one client\n"
               "  histogram ID|PID       The client's memory by age, as a bar chart\n"
               "  metrics                Everything in the Prometheus text format\n"
               "  dump                   The daemon's full state as JSON\n"
               "  reload                 Re-read the configuration (root)\n"
               "  pause                  Stop evicting; keep classifying (root)\n"
               "  resume                 Evict again (root)\n"
               "  evict ID|PID [SIZE]    Run the client's cycle now and evict up to SIZE of its cold\n"
               "                         memory, all of it without SIZE (root)\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --json              JSON output for status, list, show, histogram, evict\n"
               "     --output=FILE       metrics: replace FILE atomically (temporary file and\n"
               "                         rename) instead of printing\n"
               "     --bus-address=ADDR  Talk to the daemon on this bus (default: $%s, else the\n"
               "                         system bus)\n\n"
               "Exit status: 0 success, 1 failure, 2 bad usage or argument, 3 daemon not running or bus\n"
               "unreachable, 4 permission denied, 5 no such client. See uffdtierctl(1).\n",
               UFFDTIER_BUS_ADDRESS_ENV);
}

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* counting the verb */
        int (*run)(sd_bus *bus, int argc, char **argv);
} Verb;

static const Verb verbs[] = {
        { "status", 1, 1, verb_status },   { "list", 1, 1, verb_list },
        { "show", 2, 2, verb_show },       { "histogram", 2, 2, verb_histogram },
        { "metrics", 1, 1, verb_metrics }, { "dump", 1, 1, verb_dump },
        { "reload", 1, 1, verb_reload },   { "pause", 1, 1, verb_pause },
        { "resume", 1, 1, verb_pause },    { "evict", 2, 3, verb_evict },
};

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_BUS_ADDRESS,
                ARG_OUTPUT,
        };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, ARG_VERSION },
                                                 { "json", no_argument, NULL, ARG_JSON },
                                                 { "bus-address", required_argument, NULL,
                                                   ARG_BUS_ADDRESS },
                                                 { "output", required_argument, NULL, ARG_OUTPUT },
                                                 {} };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("uffdtierctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case ARG_OUTPUT:
                        if (!optarg[0]) {
                                fprintf(stderr, "--output= needs a file name.\n");
                                return -EINVAL;
                        }
                        arg_output = optarg;
                        break;
                default:
                        fprintf(stderr, "See uffdtierctl --help.\n");
                        return -EINVAL;
                }
        return 1;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        const Verb *verb = NULL;
        int n, r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;
        n = argc - optind;
        arg_verb_name = n > 0 ? argv[optind] : "status";
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, arg_verb_name))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr,
                        "Unknown command \"%s\". See uffdtierctl --help for the commands.\n",
                        arg_verb_name);
                return EXIT_USAGE;
        }
        if (arg_output && !streq(verb->name, "metrics")) {
                fprintf(stderr, "--output= is for \"metrics\" only. See uffdtierctl --help.\n");
                return EXIT_USAGE;
        }
        if (n == 0) { /* no verb: status */
                static char *status_argv[] = { (char *) "status", NULL };
                argv = status_argv;
                optind = 0;
                n = 1;
        }
        if (n < verb->min_args || n > verb->max_args) {
                fprintf(stderr, "\"%s\" takes %s. See uffdtierctl --help.\n", verb->name,
                        verb->max_args == 1 ? "no arguments"
                                : verb->min_args == verb->max_args
                                ? "one argument (a client id or pid)"
                                : "a client id or pid and an optional size");
                return EXIT_USAGE;
        }
        r = bus_connect(&bus);
        if (r != 0)
                return r;
        r = verb->run(bus, n, argv + optind);
        sd_bus_flush_close_unref(bus);
        return r;
}
