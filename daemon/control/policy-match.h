/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which policy a cgroup gets. Pure: takes the rules and a cgroup path, does no I/O.
 *
 * A Match= value is a cgroup path as /proc/PID/cgroup shows it on its "0::" line (relative to the
 * daemon's cgroup namespace), either
 *  - a prefix, e.g. "/system.slice/db.service": matches that cgroup and every cgroup below it, on
 *    whole path components ("/a/b" matches "/a/b" and "/a/b/c", never "/a/bc"); a trailing '/'
 *    is ignored; "/" matches every cgroup; or
 *  - a glob, any value containing '*', '?' or '[': matched with fnmatch(3) and FNM_PATHNAME
 *    ('*' does not cross '/') against the cgroup and against each of its ancestors, so
 *    "/user.slice/user-*.slice" also covers the sessions below a user's slice.
 *
 * The longest match wins. A prefix weighs its length (without a trailing '/'); a glob weighs the
 * length of its literal prefix, the characters before its first '*', '?', '[' or '\\'. So
 * "/user.slice/user-1000.slice" (27) beats "/user.slice/user-*.slice" (17), which beats
 * "/user.slice" (11). A policy weighs as much as its heaviest matching Match=; equal weights go to
 * the policy read first (policy.d files are read in lexical order). No match: the default. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

/* One policy of a policy.d file. */
typedef struct PolicyRule {
        Policy policy; /* policy.name points at name */
        char *name;
        char **match; /* Match= values */
        size_t n_match;
        /* where it was defined, for messages, and which keys the file set (conf.c) */
        char *file;
        unsigned line;
        uint64_t set_mask;
} PolicyRule;

/* The policies of one configuration: the default and the per-cgroup rules, in file order. Owns
 * every string the policies point at. */
typedef struct PolicySet {
        Policy default_policy;
        PolicyRule *rules;
        size_t n_rules;
} PolicySet;

bool policy_match_is_glob(const char *pattern);
/* 0 if the value can be a Match=, else -EINVAL with a reason. */
int policy_match_check(const char *pattern, const char **ret_reason);
/* -1 if pattern does not match cgroup_path, else its weight (see above). */
ssize_t policy_match_weight(const char *pattern, const char *cgroup_path);
/* Index of the rule that wins for cgroup_path, or -1 (the default policy; also for a NULL
 * path: a process whose cgroup could not be read). */
ssize_t policy_match_best(const PolicyRule *rules, size_t n_rules, const char *cgroup_path);
/* The winning rule's policy, or the set's default. */
const Policy *policy_set_lookup(const PolicySet *s, const char *cgroup_path);

void policy_rule_done(PolicyRule *r);
void policy_set_done(PolicySet *s);
