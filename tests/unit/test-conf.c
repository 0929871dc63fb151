/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "macro.h"
#include "test.h"

static int parse(Config *c, ConfFileKind kind, const char *file, const char *text,
                 char **ret_message) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = config_parse_text(c, kind, file, text, strlen(text), &e);

        if (ret_message)
                *ret_message = e.message ? strdup(e.message) : NULL;
        sd_bus_error_free(&e);
        return r;
}

static Config *new_config(void) {
        Config *c = NULL;
        ASSERT_OK(config_new(&c));
        return c;
}

TEST(defaults) {
        _cleanup_(config_freep) Config *c = new_config();
        Policy d;

        policy_init(&d);
        ASSERT_OK(config_finalize(c, NULL, NULL));
        ASSERT_STREQ(c->socket_path, "/run/uffdtierd/handoff.sock");
        ASSERT_EQ(c->log_level, -1);
        ASSERT_U64_EQ(c->stats_interval_usec, 60 * USEC_PER_SEC);
        ASSERT_EQ(c->limits.clients_per_uid, LIMIT_CLIENTS_PER_UID_DEFAULT);
        ASSERT_EQ(c->limits.connections_burst, LIMIT_CONNECTIONS_BURST_DEFAULT);
        ASSERT_U64_EQ(c->policies.default_policy.interval_usec, d.interval_usec);
        ASSERT_U64_EQ(c->policies.default_policy.cold_age_usec, d.cold_age_usec);
        ASSERT_TRUE(c->policies.default_policy.name == NULL);
        ASSERT_EQ(c->policies.n_rules, 0);
}

TEST(main_file_every_key) {
        _cleanup_(config_freep) Config *c = new_config();
        const Policy *p = &c->policies.default_policy;

        ASSERT_OK(parse(c, CONF_FILE_MAIN, "u.conf",
                        "# comment\n"
                        "; another\n"
                        "[Daemon]\n"
                        "Socket = /run/x/handoff.sock\n"
                        "LogLevel=debug\n"
                        "StatsInterval=5min\n"
                        "\n"
                        "[Limits]\n"
                        "MaxClientsPerUid=3\n"
                        "MaxRanges=10\n"
                        "MaxBytes=2G\n"
                        "ConnectionsPerSec=7\n"
                        "MaxConnections=99\n"
                        "MaxClients=500\n"
                        "MaxProtocolErrors=0\n"
                        "StateBytesPerUid=8M\n"
                        "StateBytesTotal=32M\n"
                        "SyncWindowMax=500ms\n"
                        "MaxPendingForks=3\n"
                        "MaxPendingForksPerUid=9\n"
                        "RequestsPerSec=20\n"
                        "BusCallsPerSec=5\n"
                        "BusCallsTotalPerSec=50\n"
                        "[Policy]\n"
                        "ScanInterval=5s\n"
                        "ColdAge=1min\n"
                        "RefaultTarget=0.2%\n"
                        "ColdAgeMin=10s\n"
                        "ColdAgeMax=5min\n"
                        "Rate=16M\n"
                        "Floor=1G\n"
                        "PSILimit=12.5%\n"
                        "RearmPeriod=4\n"
                        "ArmLevelMax=2\n"
                        "Mode=monitor   ; an inline comment\n",
                        NULL));
        ASSERT_OK(config_finalize(c, NULL, NULL));
        ASSERT_STREQ(c->socket_path, "/run/x/handoff.sock");
        ASSERT_EQ(c->log_level, LOG_DEBUG);
        ASSERT_U64_EQ(c->stats_interval_usec, 5 * USEC_PER_MINUTE);
        ASSERT_EQ(c->limits.clients_per_uid, 3);
        ASSERT_EQ(c->limits.ranges_per_client, 10);
        ASSERT_U64_EQ(c->limits.bytes_per_client, 2ULL << 30);
        ASSERT_EQ(c->limits.connections_per_sec, 7);
        ASSERT_EQ(c->limits.connections_burst, 7); /* follows the rate, as --conn-rate */
        ASSERT_U64_EQ(c->limits.state_bytes_per_uid, 8ULL << 20);
        ASSERT_U64_EQ(c->limits.state_bytes_total, 32ULL << 20);
        ASSERT_U64_EQ(c->limits.sync_window_max_usec, 500 * USEC_PER_MSEC);
        ASSERT_EQ(c->limits.forks_pending_per_client, 3);
        ASSERT_EQ(c->limits.forks_pending_per_uid, 9);
        ASSERT_EQ(c->limits.requests_per_sec, 20);
        ASSERT_EQ(c->limits.requests_burst, 40);
        ASSERT_EQ(c->limits.bus_calls_per_sec, 5);
        ASSERT_EQ(c->limits.bus_calls_burst, 10);
        ASSERT_EQ(c->limits.bus_calls_total_per_sec, 50);
        ASSERT_EQ(c->limits.connections_total, 99);
        ASSERT_EQ(c->limits.clients_total, 500);
        ASSERT_EQ(c->limits.protocol_errors_max, 0);
        ASSERT_U64_EQ(p->interval_usec, 5 * USEC_PER_SEC);
        ASSERT_U64_EQ(p->cold_age_usec, 60 * USEC_PER_SEC);
        ASSERT_U64_EQ(p->rate_bytes_per_sec, 16ULL << 20);
        ASSERT_EQ(p->refault_target_permyriad, 20);
        ASSERT_U64_EQ(p->cold_age_min_usec, 10 * USEC_PER_SEC);
        ASSERT_U64_EQ(p->cold_age_max_usec, 5 * USEC_PER_MINUTE);
        ASSERT_U64_EQ(p->floor_bytes, 1ULL << 30);
        ASSERT_EQ(p->psi_limit_permyriad, 1250);
        ASSERT_EQ(p->rearm_period_cycles, 4);
        ASSERT_EQ(p->arm_level_max, 2);
        ASSERT_TRUE(p->dry_run);
        ASSERT_EQ(c->default_policy_line, 24);
}

TEST(policy_file_inherits_and_names) {
        _cleanup_(config_freep) Config *c = new_config();
        const PolicyRule *r;

        ASSERT_OK(parse(c, CONF_FILE_MAIN, "u.conf",
                        "[Policy]\nScanInterval=2s\nColdAge=20s\nMode=monitor\n", NULL));
        ASSERT_OK(parse(c, CONF_FILE_POLICY, "/etc/uffdtierd/policy.d/50-db.conf",
                        "[Policy]\n"
                        "Match=/system.slice/db.service\n"
                        "Match=/machine.slice/*.scope\n"
                        "ColdAge=1min\n"
                        "Mode=evict\n",
                        NULL));
        ASSERT_OK(parse(c, CONF_FILE_POLICY, "p/other.conf",
                        "[Policy]\nName=batch\nMatch=/batch.slice\n", NULL));
        ASSERT_OK(config_finalize(c, NULL, NULL));
        ASSERT_EQ(c->policies.n_rules, 2);

        r = &c->policies.rules[0];
        ASSERT_STREQ(r->name, "50-db"); /* the file name without .conf */
        ASSERT_STREQ(r->policy.name, "50-db");
        ASSERT_EQ(r->n_match, 2);
        ASSERT_STREQ(r->match[0], "/system.slice/db.service");
        ASSERT_STREQ(r->match[1], "/machine.slice/*.scope");
        ASSERT_U64_EQ(r->policy.interval_usec, 2 * USEC_PER_SEC); /* from the default policy */
        ASSERT_U64_EQ(r->policy.cold_age_usec, 60 * USEC_PER_SEC);
        ASSERT_FALSE(r->policy.dry_run);
        ASSERT_STREQ(r->file, "/etc/uffdtierd/policy.d/50-db.conf");
        ASSERT_EQ(r->line, 1);

        r = &c->policies.rules[1];
        ASSERT_STREQ(r->name, "batch");
        ASSERT_U64_EQ(r->policy.cold_age_usec, 20 * USEC_PER_SEC);
        ASSERT_TRUE(r->policy.dry_run);
}

/* Each kind of bad file, with the exact message. */
TEST(bad_files) {
        static const struct {
                ConfFileKind kind;
                const char *text, *message;
        } t[] = {
                { CONF_FILE_MAIN, "[Daemon]\nSocket=/x\n[Bogus]\nA=b\n",
                  "f.conf:3: unknown section [Bogus]" },
                /* an empty unknown section is caught too (inih does not call the handler for it) */
                { CONF_FILE_MAIN, "[Daemon]\n\n[Empty]\n", "f.conf:3: unknown section [Empty]" },
                { CONF_FILE_MAIN, "Socket=/x\n", "f.conf:1: Socket= outside a section" },
                { CONF_FILE_MAIN, "[Daemon]\nSockett=/x\n",
                  "f.conf:2: unknown key Sockett= in [Daemon]" },
                { CONF_FILE_MAIN, "[Limits]\nScanInterval=1s\n",
                  "f.conf:2: unknown key ScanInterval= in [Limits]" },
                { CONF_FILE_MAIN, "[Policy]\nMatch=/a\n",
                  "f.conf:2: Match= belongs in a policy.d file, not in the default [Policy]" },
                { CONF_FILE_MAIN, "[Daemon]\nSocket=relative\n",
                  "f.conf:2: invalid Socket= value \"relative\": not an absolute path" },
                { CONF_FILE_MAIN, "[Daemon]\nLogLevel=loud\n",
                  "f.conf:2: invalid LogLevel= value \"loud\": expected err, warning, notice, info or debug" },
                { CONF_FILE_MAIN, "[Daemon]\nStatsInterval=0\n",
                  "f.conf:2: invalid StatsInterval= value \"0\": must be more than 0" },
                { CONF_FILE_MAIN, "[Policy]\nScanInterval=fast\n",
                  "f.conf:2: invalid ScanInterval= value \"fast\": malformed" },
                { CONF_FILE_MAIN, "[Policy]\nRate=12Q\n",
                  "f.conf:2: invalid Rate= value \"12Q\": malformed" },
                { CONF_FILE_MAIN, "[Policy]\nPSILimit=101%\n",
                  "f.conf:2: invalid PSILimit= value \"101%\": out of range" },
                { CONF_FILE_MAIN, "[Policy]\nRearmPeriod=127\n",
                  "f.conf:2: invalid RearmPeriod= value \"127\": at most 126 cycles" },
                { CONF_FILE_MAIN, "[Policy]\nMode=evict-all\n",
                  "f.conf:2: invalid Mode= value \"evict-all\": expected evict or monitor" },
                { CONF_FILE_MAIN, "[Limits]\nMaxRanges=-1\n",
                  "f.conf:2: invalid MaxRanges= value \"-1\": malformed" },
                { CONF_FILE_MAIN, "[Limits]\nMaxRanges=99999999\n",
                  "f.conf:2: invalid MaxRanges= value \"99999999\": out of range" },
                { CONF_FILE_MAIN, "[Limits]\nMaxConnections=0\n",
                  "f.conf:2: invalid MaxConnections= value \"0\": at least 1" },
                { CONF_FILE_MAIN, "[Limits]\nMaxClients=0\n",
                  "f.conf:2: invalid MaxClients= value \"0\": at least 1" },
                { CONF_FILE_MAIN, "[Limits]\nMaxProtocolErrors=many\n",
                  "f.conf:2: invalid MaxProtocolErrors= value \"many\": malformed" },
                { CONF_FILE_MAIN, "[Policy]\nArmLevelMax=7\n",
                  "f.conf:2: invalid ArmLevelMax= value \"7\": out of range" },
                { CONF_FILE_MAIN, "[Policy]\nColdAge=1min\n\n[Policy]\nColdAge=2min\n",
                  "f.conf:5: ColdAge= already set on line 2" },
                { CONF_FILE_MAIN, "[Daemon]\nno equals sign\n",
                  "f.conf:2: syntax error (expected [Section], Key=Value or a comment)" },
                { CONF_FILE_MAIN, "[Daemon\n",
                  "f.conf:1: syntax error (expected [Section], Key=Value or a comment)" },
                /* the first error wins, whichever kind */
                { CONF_FILE_MAIN, "[Daemon]\ngarbage\nBogus=1\n",
                  "f.conf:2: syntax error (expected [Section], Key=Value or a comment)" },
                { CONF_FILE_MAIN, "[Daemon]\nBogus=1\ngarbage\n",
                  "f.conf:2: unknown key Bogus= in [Daemon]" },
                { CONF_FILE_MAIN, "[Daemon]\nSocket=/x\0y\n", "f.conf: contains a NUL byte" },
                /* policy files */
                { CONF_FILE_POLICY, "[Daemon]\nSocket=/x\n",
                  "f.conf:1: unknown section [Daemon] (a policy file has only [Policy])" },
                { CONF_FILE_POLICY, "# nothing\n", "f.conf:1: no [Policy] section" },
                { CONF_FILE_POLICY, "# x\n[Policy]\nColdAge=1min\n",
                  "f.conf:2: [Policy] has no Match=" },
                { CONF_FILE_POLICY, "[Policy]\nMatch=relative/path\n",
                  "f.conf:2: invalid Match= value \"relative/path\": not an absolute cgroup path (starts with '/')" },
                { CONF_FILE_POLICY, "[Policy]\nMatch=/a//b\n",
                  "f.conf:2: invalid Match= value \"/a//b\": contains \"//\"" },
                { CONF_FILE_POLICY, "[Policy]\nMatch=/a\nName=has space\n",
                  "f.conf:3: invalid Name= value \"has space\": expected 1 to 64 of A-Z a-z 0-9 _ . @ : -" },
                { CONF_FILE_POLICY, "[Policy]\nMatch=/a\nName=default\n",
                  "f.conf:3: invalid Name= value \"default\": reserved for the default policy" },
                { CONF_FILE_POLICY, "[Policy]\nName=a\nName=b\nMatch=/a\n",
                  "f.conf:3: Name= already set on line 2" },
                { CONF_FILE_POLICY, "[Policy]\nMatch=/a\nMode=\n",
                  "f.conf:3: invalid Mode= value \"\": expected evict or monitor" },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(config_freep) Config *c = new_config();
                size_t len = strlen(t[i].text);
                sd_bus_error e = SD_BUS_ERROR_NULL;
                int r;

                if (strstr(t[i].message, "NUL")) /* the text goes on after its NUL */
                        len += 1 + strlen(t[i].text + len + 1);
                r = config_parse_text(c, t[i].kind, "f.conf", t[i].text, len, &e);
                if (r != -EINVAL || !e.message || !streq(e.message, t[i].message))
                        test_fail(__FILE__, __LINE__,
                                  "case %zu: expected -EINVAL \"%s\", got %d \"%s\"", i,
                                  t[i].message, r, e.message ? e.message : "(none)");
                sd_bus_error_free(&e);
        }
}

TEST(line_too_long) {
        _cleanup_(config_freep) Config *c = new_config();
        _cleanup_free_ char *msg = NULL, *text = NULL;
        char path[300];

        /* inih's buffer is 200 bytes here: a longer line would be cut, not refused */
        memset(path, 'a', sizeof path - 1);
        path[0] = '/';
        path[sizeof path - 1] = '\0';
        ASSERT_TRUE(asprintf(&text, "[Policy]\nName=x\nMatch=%s\n", path) > 0);
        ASSERT_ERROR(parse(c, CONF_FILE_POLICY, "f.conf", text, &msg), EINVAL);
        ASSERT_TRUE(msg && strncmp(msg, "f.conf:3: line too long (at most ", 33) == 0);
}

TEST(duplicate_name_and_validation) {
        _cleanup_(config_freep) Config *c = new_config();
        _cleanup_free_ char *msg = NULL, *msg2 = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ASSERT_OK(parse(c, CONF_FILE_POLICY, "d/a.conf", "[Policy]\nName=web\nMatch=/a\n", NULL));
        ASSERT_ERROR(parse(c, CONF_FILE_POLICY, "d/web.conf", "\n[Policy]\nMatch=/b\n", &msg),
                     EINVAL);
        ASSERT_STREQ(msg, "d/web.conf:2: duplicate policy name \"web\" (also in d/a.conf:1)");
        ASSERT_ERROR(
                parse(c, CONF_FILE_POLICY, "d/b.conf", "[Policy]\nMatch=/b\nName=web\n", &msg2),
                EINVAL);
        ASSERT_STREQ(msg2, "d/b.conf:3: duplicate policy name \"web\" (also in d/a.conf:1)");
        ASSERT_EQ(c->policies.n_rules, 1);

        /* a value that is fine alone but not with the default policy's: caught at finalize */
        ASSERT_OK(parse(c, CONF_FILE_POLICY, "d/c.conf", "# c\n[Policy]\nMatch=/c\nColdAge=1s\n",
                        NULL));
        ASSERT_ERROR(config_finalize(c, NULL, &e), EINVAL);
        ASSERT_STREQ(e.message,
                     "d/c.conf:2: policy c: cold-age=1s: must be at least one interval (10s)");
        sd_bus_error_free(&e);
}

static size_t option_index(const char *name) {
        size_t i = 0;

        while (config_option_name(i) && !streq(config_option_name(i), name))
                i++;
        ASSERT_TRUE(config_option_name(i) != NULL);
        return i;
}

TEST(command_line_overrides) {
        _cleanup_(config_freep) Config *c = new_config();
        ConfOverrides o = CONF_OVERRIDES_INIT;

        ASSERT_OK(parse(c, CONF_FILE_MAIN, "u.conf",
                        "[Daemon]\nSocket=/from/file\nLogLevel=debug\n"
                        "[Limits]\nMaxRanges=5\n"
                        "[Policy]\nColdAge=60s\nFloor=1M\n",
                        NULL));
        ASSERT_OK(parse(c, CONF_FILE_POLICY, "p/keep.conf", "[Policy]\nMatch=/k\nColdAge=90s\n",
                        NULL));
        ASSERT_OK(parse(c, CONF_FILE_POLICY, "p/inherit.conf", "[Policy]\nMatch=/i\n", NULL));
        o.policy.cold_age_usec = 30 * USEC_PER_SEC;
        o.policy_set = CONF_POLICY_COLD_AGE;
        ASSERT_OK(config_option_parse(&o, option_index("socket"), "/from/argv", NULL));
        ASSERT_OK(config_option_parse(&o, option_index("log-level"), "err", NULL));
        ASSERT_OK(config_option_parse(&o, option_index("max-ranges"), "9", NULL));
        o.dry_run_all = true;
        ASSERT_OK(config_finalize(c, &o, NULL));
        conf_overrides_done(&o);

        ASSERT_STREQ(c->socket_path, "/from/argv");
        ASSERT_EQ(c->log_level, LOG_ERR);
        ASSERT_EQ(c->limits.ranges_per_client, 9);
        ASSERT_U64_EQ(c->policies.default_policy.cold_age_usec, 30 * USEC_PER_SEC);
        ASSERT_U64_EQ(c->policies.default_policy.floor_bytes,
                      1ULL << 20); /* the file's, not overridden */
        ASSERT_TRUE(c->policies.default_policy.dry_run);
        /* a policy file keeps what it set; what it did not set is the default policy's, argv included */
        ASSERT_U64_EQ(c->policies.rules[0].policy.cold_age_usec, 90 * USEC_PER_SEC);
        ASSERT_U64_EQ(c->policies.rules[1].policy.cold_age_usec, 30 * USEC_PER_SEC);
        ASSERT_U64_EQ(c->policies.rules[1].policy.floor_bytes, 1ULL << 20);
        /* --dry-run is for every policy */
        ASSERT_TRUE(c->policies.rules[0].policy.dry_run);
        ASSERT_TRUE(c->policies.rules[1].policy.dry_run);
}

/* The command line parses with the file's own parsers and bounds. */
TEST(command_line_options) {
        static const struct {
                const char *option, *value, *message;
        } bad[] = {
                { "interval", "fast", "invalid value for --interval: \"fast\" (malformed)" },
                { "rearm-period", "127",
                  "invalid value for --rearm-period: \"127\" (at most 126 cycles)" },
                { "arm-level-max", "7", "invalid value for --arm-level-max: \"7\" (out of range)" },
                { "max-connections", "0",
                  "invalid value for --max-connections: \"0\" (at least 1)" },
                { "max-clients", "0", "invalid value for --max-clients: \"0\" (at least 1)" },
                { "socket", "relative",
                  "invalid value for --socket: \"relative\" (not an absolute path)" },
                { "stats-interval", "0",
                  "invalid value for --stats-interval: \"0\" (must be more than 0)" },
        };
        ConfOverrides o = CONF_OVERRIDES_INIT;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                ASSERT_EQ(config_option_parse(&o, option_index(bad[i].option), bad[i].value, &e),
                          -EINVAL);
                ASSERT_STREQ(e.message, bad[i].message);
        }
        ASSERT_U64_EQ(o.policy_set, 0);
        ASSERT_U64_EQ(o.config.config_set, 0);
        ASSERT_OK(config_option_parse(&o, option_index("arm-level-max"), "0", NULL));
        ASSERT_OK(config_option_parse(&o, option_index("max-connections"), "5", NULL));
        ASSERT_U64_EQ(o.policy_set, CONF_POLICY_ARM_LEVEL_MAX);
        ASSERT_U64_EQ(o.config.config_set, CONF_LIMIT_CONNECTIONS_TOTAL);
        ASSERT_EQ(o.config.limits.connections_total, 5);
        /* every option is a file key's too */
        for (size_t i = 0; config_option_name(i); i++) {
                const char *arg, *help, *section, *key;

                config_option_help(i, &arg, &help, &section, &key);
                ASSERT_TRUE(arg && help && section && key);
        }
        conf_overrides_done(&o);
}

/* ---- files on disk ---- */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void rm_rf(char **dir) {
        if (*dir) {
                (void) nftw(*dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(*dir);
        }
}

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-conf.XXXXXX");
        ASSERT_TRUE(d);
        ASSERT_TRUE(mkdtemp(d));
        return d;
}

static void write_at(const char *dir, const char *rel, const char *text) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        ASSERT_EQ(fputs(text, f) >= 0, 1);
        ASSERT_EQ(fclose(f), 0);
}

static char *path_in(const char *dir, const char *rel) {
        char *p;
        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, rel) > 0);
        return p;
}

TEST(load_lexical_order) {
        _cleanup_(rm_rf) char *dir = make_tmpdir();
        _cleanup_free_ char *conf = path_in(dir, "uffdtierd.conf"), *pd = path_in(dir, "policy.d");
        _cleanup_(config_freep) Config *c = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ASSERT_OK(mkdir(pd, 0755));
        write_at(dir, "uffdtierd.conf", "[Policy]\nColdAge=60s\n");
        /* the same weight for the same cgroup: the first file in lexical (bytewise) order wins */
        write_at(dir, "policy.d/20-b.conf", "[Policy]\nMatch=/app\nColdAge=20s\n");
        write_at(dir, "policy.d/10-a.conf", "[Policy]\nMatch=/app\nColdAge=10s\n");
        write_at(dir, "policy.d/Z.conf", "[Policy]\nMatch=/z\n");
        /* not read: not *.conf, hidden, a directory */
        write_at(dir, "policy.d/example.conf.example", "[Policy]\nBroken\n");
        write_at(dir, "policy.d/.hidden.conf", "[Policy]\nBroken\n");
        ASSERT_OK(mkdir(pd, 0755) < 0 && errno == EEXIST ? 0 : -1);
        {
                _cleanup_free_ char *sub = path_in(pd, "dir.conf");
                ASSERT_OK(mkdir(sub, 0755));
        }

        ASSERT_OK(config_load(conf, true, NULL, &e, &c));
        ASSERT_STREQ(c->path, conf);
        ASSERT_EQ(c->policies.n_rules, 3);
        ASSERT_STREQ(c->policies.rules[0].name, "10-a");
        ASSERT_STREQ(c->policies.rules[1].name, "20-b");
        ASSERT_STREQ(c->policies.rules[2].name, "Z");
        ASSERT_STREQ(policy_set_lookup(&c->policies, "/app/x")->name, "10-a");
        ASSERT_U64_EQ(policy_set_lookup(&c->policies, "/app")->cold_age_usec, 10 * USEC_PER_SEC);
        ASSERT_TRUE(policy_set_lookup(&c->policies, "/other")->name == NULL);
        ASSERT_U64_EQ(policy_set_lookup(&c->policies, "/other")->cold_age_usec, 60 * USEC_PER_SEC);
}

TEST(load_errors) {
        _cleanup_(rm_rf) char *dir = make_tmpdir();
        _cleanup_free_ char *conf = path_in(dir, "uffdtierd.conf"), *pd = path_in(dir, "policy.d"),
                            *expect = NULL;
        Config *c = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        /* a missing default file is fine, a missing --config is not */
        ASSERT_OK(config_load(conf, false, NULL, &e, &c));
        ASSERT_TRUE(c->path == NULL);
        c = config_free(c);
        ASSERT_ERROR(config_load(conf, true, NULL, &e, &c), ENOENT);
        ASSERT_TRUE(c == NULL);
        ASSERT_TRUE(strstr(e.message, "uffdtierd.conf: cannot read: "));
        sd_bus_error_free(&e);

        /* one bad policy file fails the whole load, with its file:line */
        write_at(dir, "uffdtierd.conf", "[Daemon]\nLogLevel=info\n");
        ASSERT_OK(mkdir(pd, 0755));
        write_at(dir, "policy.d/a.conf", "[Policy]\nMatch=/a\n");
        write_at(dir, "policy.d/b.conf", "[Policy]\nMatch=/b\nColdAge=soon\n");
        ASSERT_ERROR(config_load(conf, true, NULL, &e, &c), EINVAL);
        ASSERT_TRUE(c == NULL);
        ASSERT_TRUE(asprintf(&expect, "%s/b.conf:3: invalid ColdAge= value \"soon\": malformed",
                             pd) > 0);
        ASSERT_STREQ(e.message, expect);
        sd_bus_error_free(&e);
}

TEST(policy_dir) {
        _cleanup_free_ char *a = NULL, *b = NULL, *d = NULL;

        ASSERT_OK(config_policy_dir("/etc/uffdtierd/uffdtierd.conf", &a));
        ASSERT_STREQ(a, "/etc/uffdtierd/policy.d");
        ASSERT_OK(config_policy_dir("u.conf", &b));
        ASSERT_STREQ(b, "./policy.d");
        ASSERT_OK(config_policy_dir("/u.conf", &d));
        ASSERT_STREQ(d, "/policy.d");
}
