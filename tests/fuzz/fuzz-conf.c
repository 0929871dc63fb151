/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the configuration parser (daemon/control/conf.c). The first byte chooses what the
 * rest is: even, uffdtierd.conf; odd, a policy.d file. Properties checked on every input:
 *  - parsing never crashes, leaks or reads out of bounds (ASan);
 *  - it fails only with -EINVAL or -ENOMEM, and then always with a message that starts with the
 *    file's name ("fuzz.conf:LINE: ..." or "fuzz.conf: ...");
 *  - whatever parses, finalizes to policies that pass policy_validate() or is refused with a
 *    message, and a policy that parsed has a name and at least one valid Match=. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(e)                                                                              \
        do {                                                                                  \
                if (!(e)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
                        abort();                                                              \
                }                                                                             \
        } while (0)

static void check_message(int r, const sd_bus_error *e) {
        CHECK(r == -EINVAL || r == -ENOMEM || r == -E2BIG);
        CHECK(e->message);
        CHECK(strncmp(e->message, "fuzz.conf:", 10) == 0 ||
              strncmp(e->message, "default policy: ", 16) == 0 ||
              strncmp(e->message, "policy.d/fuzz.conf", 18) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        ConfFileKind kind;
        Config *c = NULL;
        int r;

        if (size < 1 || size > 64 * 1024)
                return 0;
        kind = (data[0] & 1) ? CONF_FILE_POLICY : CONF_FILE_MAIN;
        CHECK(config_new(&c) >= 0);
        r = config_parse_text(c, kind, "fuzz.conf", (const char *) data + 1, size - 1, &e);
        if (r < 0)
                check_message(r, &e);
        else {
                CHECK(kind == CONF_FILE_MAIN || c->policies.n_rules == 1);
                r = config_finalize(c, NULL, &e);
                if (r < 0)
                        CHECK(e.message && (r == -EINVAL || r == -ENOMEM));
                else {
                        CHECK(policy_validate(&c->policies.default_policy, NULL) >= 0);
                        for (size_t i = 0; i < c->policies.n_rules; i++) {
                                const PolicyRule *rule = &c->policies.rules[i];

                                CHECK(rule->name && rule->policy.name == rule->name);
                                CHECK(rule->n_match > 0);
                                for (size_t j = 0; j < rule->n_match; j++)
                                        CHECK(policy_match_check(rule->match[j], NULL) == 0);
                                CHECK(policy_validate(&rule->policy, NULL) >= 0);
                        }
                        CHECK(c->socket_path && c->socket_path[0] == '/');
                }
        }
        sd_bus_error_free(&e);
        config_free(c);
        return 0;
}
