/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "policy-match.h"

#define GLOB_CHARS "*?[\\"

bool policy_match_is_glob(const char *pattern) {
        return strpbrk(pattern, "*?[") != NULL;
}

int policy_match_check(const char *pattern, const char **ret_reason) {
        const char *why = NULL;

        if (!pattern || pattern[0] == '\0')
                why = "empty";
        else if (pattern[0] != '/')
                why = "not an absolute cgroup path (starts with '/')";
        else if (strstr(pattern, "//"))
                why = "contains \"//\"";
        else
                for (const char *p = pattern; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                                why = "contains a control character";
                                break;
                        }
        if (why) {
                if (ret_reason)
                        *ret_reason = why;
                return -EINVAL;
        }
        return 0;
}

/* Length without trailing slashes, but "/" stays "/". */
static size_t trimmed_len(const char *s) {
        size_t n = strlen(s);

        while (n > 1 && s[n - 1] == '/')
                n--;
        return n;
}

static ssize_t match_prefix(const char *pattern, const char *path) {
        size_t n = trimmed_len(pattern), pl = trimmed_len(path);

        if (n == 1) /* "/" */
                return 1;
        if (pl < n || memcmp(pattern, path, n) != 0)
                return -1;
        if (pl > n && path[n] != '/')
                return -1; /* "/a/b" vs "/a/bc" */
        return (ssize_t) n;
}

static ssize_t match_glob(const char *pattern, const char *path) {
        size_t literal = strcspn(pattern, GLOB_CHARS), pl = trimmed_len(path);
        _cleanup_free_ char *buf = strndup(path, pl);

        if (!buf)
                return -1; /* no memory: treat as no match, the default policy applies */
        /* the path itself, then each ancestor (cut at every '/' but the root's) */
        for (size_t i = pl;;) {
                buf[i] = '\0';
                if (fnmatch(pattern, buf, FNM_PATHNAME) == 0)
                        return (ssize_t) literal;
                while (i > 0 && buf[i - 1] != '/')
                        i--;
                if (i <= 1)
                        break;
                i--; /* drop the '/' too */
        }
        return -1;
}

ssize_t policy_match_weight(const char *pattern, const char *cgroup_path) {
        if (!pattern || !cgroup_path || cgroup_path[0] != '/')
                return -1;
        return policy_match_is_glob(pattern) ? match_glob(pattern, cgroup_path)
                                             : match_prefix(pattern, cgroup_path);
}

ssize_t policy_match_best(const PolicyRule *rules, size_t n_rules, const char *cgroup_path) {
        ssize_t best = -1, best_weight = -1;

        if (!cgroup_path)
                return -1;
        for (size_t i = 0; i < n_rules; i++)
                for (size_t j = 0; j < rules[i].n_match; j++) {
                        ssize_t w = policy_match_weight(rules[i].match[j], cgroup_path);

                        if (w > best_weight) { /* strictly: ties go to the earlier rule */
                                best_weight = w;
                                best = (ssize_t) i;
                        }
                }
        return best;
}

const Policy *policy_set_lookup(const PolicySet *s, const char *cgroup_path) {
        ssize_t i = policy_match_best(s->rules, s->n_rules, cgroup_path);

        return i >= 0 ? &s->rules[i].policy : &s->default_policy;
}

void policy_rule_done(PolicyRule *r) {
        if (!r)
                return;
        for (size_t j = 0; j < r->n_match; j++)
                free(r->match[j]);
        free(r->match);
        free(r->name);
        free(r->file);
        *r = (PolicyRule){};
}

void policy_set_done(PolicySet *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_rules; i++)
                policy_rule_done(&s->rules[i]);
        free(s->rules);
        s->rules = NULL;
        s->n_rules = 0;
}
