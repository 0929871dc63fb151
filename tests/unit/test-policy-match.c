/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "policy-match.h"
#include "test.h"

TEST(weight_prefix) {
        ASSERT_EQ(policy_match_weight("/", "/"), 1);
        ASSERT_EQ(policy_match_weight("/", "/a/b"), 1);
        ASSERT_EQ(policy_match_weight("/a/b", "/a/b"), 4);
        ASSERT_EQ(policy_match_weight("/a/b", "/a/b/c"), 4);
        ASSERT_EQ(policy_match_weight("/a/b/", "/a/b/c"), 4); /* a trailing '/' is ignored */
        ASSERT_EQ(policy_match_weight("/a/b", "/a/b/"), 4);
        ASSERT_EQ(policy_match_weight("/a/b", "/a/bc"), -1); /* whole components only */
        ASSERT_EQ(policy_match_weight("/a/b", "/a"), -1);
        ASSERT_EQ(policy_match_weight("/a/b", "/x/a/b"), -1);
        ASSERT_EQ(policy_match_weight("/a b", "/a b/c"), 4); /* spaces are just characters */
        ASSERT_EQ(policy_match_weight("/a", NULL), -1);
        ASSERT_EQ(policy_match_weight("/a", "relative"), -1);
}

TEST(weight_glob) {
        /* literal prefix "/user.slice/user-" */
        ASSERT_EQ(policy_match_weight("/user.slice/user-*.slice", "/user.slice/user-1000.slice"),
                  17);
        /* ancestors count: the sessions below the user's slice */
        ASSERT_EQ(policy_match_weight("/user.slice/user-*.slice",
                                      "/user.slice/user-1000.slice/session-2.scope"),
                  17);
        /* '*' does not cross '/' (FNM_PATHNAME) */
        ASSERT_EQ(policy_match_weight("/user.slice/*", "/user.slice/a/b"), 12);
        ASSERT_EQ(policy_match_weight("/*.service", "/system.slice/x.service"), -1);
        ASSERT_EQ(policy_match_weight("/system.slice/*.service", "/system.slice/x.service"), 14);
        ASSERT_EQ(policy_match_weight("/system.slice/*.service", "/system.slice/x.socket"), -1);
        ASSERT_EQ(
                policy_match_weight("/machine.slice/vm-?.scope", "/machine.slice/vm-7.scope/vcpu0"),
                18);
        ASSERT_EQ(policy_match_weight("/[ab]", "/a"), 1);
        ASSERT_EQ(policy_match_weight("/[ab]", "/c"), -1);
        ASSERT_EQ(policy_match_weight("/*", "/"), 1);
        ASSERT_TRUE(policy_match_is_glob("/a/*"));
        ASSERT_FALSE(policy_match_is_glob("/a/b"));
}

TEST(check) {
        const char *why = NULL;

        ASSERT_OK(policy_match_check("/", &why));
        ASSERT_OK(policy_match_check("/a/*.scope", &why));
        ASSERT_ERROR(policy_match_check("", &why), EINVAL);
        ASSERT_ERROR(policy_match_check("a/b", &why), EINVAL);
        ASSERT_STREQ(why, "not an absolute cgroup path (starts with '/')");
        ASSERT_ERROR(policy_match_check("/a//b", &why), EINVAL);
        ASSERT_ERROR(policy_match_check("/a\tb", &why), EINVAL);
        ASSERT_STREQ(why, "contains a control character");
}

static char *m_root[] = { (char *) "/" };
static char *m_user[] = { (char *) "/user.slice" };
static char *m_users[] = { (char *) "/nomatch", (char *) "/user.slice/user-*.slice" };
static char *m_1000[] = { (char *) "/user.slice/user-1000.slice" };
static char *m_1000b[] = { (char *) "/user.slice/user-1000.slice/" };

static PolicyRule rule(const char *name, char **match, size_t n) {
        PolicyRule r = { .name = (char *) name, .match = match, .n_match = n };

        policy_init(&r.policy);
        r.policy.name = name;
        return r;
}

TEST(best_longest_wins) {
        PolicyRule rules[] = {
                rule("root", m_root, 1),         rule("user", m_user, 1),
                rule("users", m_users, 2),       rule("u1000", m_1000, 1),
                rule("u1000-again", m_1000b, 1), /* the same weight, later: never wins */
        };
        PolicySet set = { .rules = rules, .n_rules = ELEMENTSOF(rules) };

        policy_init(&set.default_policy);
        ASSERT_EQ(policy_match_best(rules, ELEMENTSOF(rules),
                                    "/user.slice/user-1000.slice/session-1.scope"),
                  3);
        ASSERT_EQ(policy_match_best(rules, ELEMENTSOF(rules),
                                    "/user.slice/user-1001.slice/session-1.scope"),
                  2);
        ASSERT_EQ(policy_match_best(rules, ELEMENTSOF(rules), "/user.slice/other"), 1);
        ASSERT_EQ(policy_match_best(rules, ELEMENTSOF(rules), "/system.slice/x.service"), 0);
        ASSERT_EQ(policy_match_best(rules, ELEMENTSOF(rules), NULL), -1);
        /* without the catch-all, no match is the default */
        ASSERT_EQ(policy_match_best(rules + 1, ELEMENTSOF(rules) - 1, "/system.slice/x.service"),
                  -1);
        ASSERT_EQ(policy_match_best(rules, 0, "/a"), -1);

        ASSERT_STREQ(policy_set_lookup(&set, "/user.slice/user-1000.slice")->name, "u1000");
        set.n_rules = 0;
        ASSERT_TRUE(policy_set_lookup(&set, "/user.slice") == &set.default_policy);
}
