/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "psi.h"

/* Pressure files are two lines of about 60 characters. */
#define PSI_FILE_MAX_BYTES 4096

/* Decimal digits in [s, e) into a u64: -EINVAL if empty or not all digits, -ERANGE past 64 bits
 * (checked only after the syntax, so "99999999999999999999x" is malformed, not out of range). */
static int parse_digits(const char *s, const char *e, uint64_t *ret) {
        uint64_t v = 0;
        bool overflow = false;

        if (s == e)
                return -EINVAL;
        for (const char *p = s; p < e; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
                        overflow = true;
        }
        if (overflow)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* "12.34" (the kernel prints exactly two decimals; accept one or none too) -> 1234 per-myriad. */
static int parse_percent_permyriad(const char *s, const char *e, unsigned *ret) {
        const char *dot = memchr(s, '.', (size_t) (e - s));
        uint64_t whole, frac = 0;
        int r;

        r = parse_digits(s, dot ? dot : e, &whole);
        if (r == -ERANGE) {
                /* Still require a well-formed fraction before calling it out of range. */
                if (dot && parse_digits(dot + 1, e, &frac) == -EINVAL)
                        return -EINVAL;
                return -ERANGE;
        }
        if (r < 0)
                return r;
        if (dot) {
                size_t n = (size_t) (e - dot - 1);

                if (n < 1 || n > 2)
                        return -EINVAL;
                r = parse_digits(dot + 1, e, &frac);
                if (r < 0)
                        return r;
                if (n == 1)
                        frac *= 10;
        }
        if (whole > 100 || whole * 100 + frac > 10000)
                return -ERANGE;
        *ret = (unsigned) (whole * 100 + frac);
        return 0;
}

/* One line after its "some"/"full" word: space-separated key=value fields. */
static int parse_fields(const char *s, const char *e, PsiLine *ret) {
        enum {
                F_AVG10,
                F_AVG60,
                F_AVG300,
                F_TOTAL,
                _F_MAX
        };
        static const char *const keys[_F_MAX] = { "avg10", "avg60", "avg300", "total" };
        PsiLine line = {};
        bool seen[_F_MAX] = {};
        int r;

        while (s < e) {
                const char *f_end, *eq;
                size_t klen;
                int k = -1;

                if (*s != ' ')
                        return -EINVAL;
                s++;
                f_end = memchr(s, ' ', (size_t) (e - s));
                if (!f_end)
                        f_end = e;
                eq = memchr(s, '=', (size_t) (f_end - s));
                if (!eq || eq == s)
                        return -EINVAL;
                klen = (size_t) (eq - s);
                for (int i = 0; i < _F_MAX; i++)
                        if (strlen(keys[i]) == klen && memcmp(keys[i], s, klen) == 0)
                                k = i;

                switch (k) {
                case F_AVG10:
                        r = parse_percent_permyriad(eq + 1, f_end, &line.avg10_permyriad);
                        break;
                case F_AVG60:
                        r = parse_percent_permyriad(eq + 1, f_end, &line.avg60_permyriad);
                        break;
                case F_AVG300:
                        r = parse_percent_permyriad(eq + 1, f_end, &line.avg300_permyriad);
                        break;
                case F_TOTAL:
                        r = parse_digits(eq + 1, f_end, &line.total_usec);
                        break;
                default:
                        /* A field a newer kernel may add: skip it. */
                        r = 0;
                        break;
                }
                if (r < 0)
                        return r;
                if (k >= 0) {
                        if (seen[k])
                                return -EINVAL;
                        seen[k] = true;
                }
                s = f_end;
        }

        for (int i = 0; i < _F_MAX; i++)
                if (!seen[i])
                        return -EINVAL;
        *ret = line;
        return 0;
}

int psi_parse(const char *text, PsiStats *ret) {
        PsiStats st = {};
        bool has_some = false;
        const char *s = text;
        int r;

        if (!text)
                return -EINVAL;

        while (*s) {
                const char *e = strchrnul(s, '\n');
                PsiLine *line;
                bool *seen;

                if (e > s) {
                        if ((size_t) (e - s) > 4 && memcmp(s, "some", 4) == 0) {
                                line = &st.some;
                                seen = &has_some;
                        } else if ((size_t) (e - s) > 4 && memcmp(s, "full", 4) == 0) {
                                line = &st.full;
                                seen = &st.has_full;
                        } else
                                return -EINVAL;
                        if (*seen)
                                return -EINVAL;
                        r = parse_fields(s + 4, e, line);
                        if (r < 0)
                                return r;
                        *seen = true;
                }
                s = *e ? e + 1 : e;
        }

        if (!has_some)
                return -EINVAL;
        *ret = st;
        return 0;
}

int psi_read_file(const char *path, PsiStats *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_virtual_file(path, PSI_FILE_MAX_BYTES, &text);
        if (r < 0)
                return r;
        return psi_parse(text, ret);
}

static bool path_has_dotdot(const char *p) {
        for (const char *s = p; (s = strstr(s, "..")); s += 2)
                if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == 0))
                        return true;
        return false;
}

int psi_read_cgroup(const char *cgroup_root, const char *cgroup_path, PsiStats *ret) {
        _cleanup_free_ char *path = NULL;

        /* The path comes from /proc/PID/cgroup: outside our cgroup namespace it reads
         * "/../../x", which must not escape cgroup_root. */
        if (!cgroup_root || !cgroup_path || cgroup_path[0] != '/' || path_has_dotdot(cgroup_path))
                return -EINVAL;
        if (asprintf(&path, "%s%s/memory.pressure", cgroup_root,
                     streq(cgroup_path, "/") ? "" : cgroup_path) < 0) {
                path = NULL; /* undefined after a failed asprintf() */
                return -ENOMEM;
        }
        return psi_read_file(path, ret);
}

static int read_system(const char *proc_root, const char *resource, PsiStats *ret) {
        _cleanup_free_ char *path = NULL;

        if (!proc_root)
                return -EINVAL;
        if (asprintf(&path, "%s/pressure/%s", proc_root, resource) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        return psi_read_file(path, ret);
}

int psi_read_system(const char *proc_root, PsiStats *ret) {
        return read_system(proc_root, "memory", ret);
}

int psi_read_system_cpu(const char *proc_root, PsiStats *ret) {
        return read_system(proc_root, "cpu", ret);
}
