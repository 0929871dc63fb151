/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure parsers for the /proc files the probe reads: text in, number out, no I/O. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "parse.h"
#include "probe-parse.h"

/* Returns the start of the line after the one at p (or the terminating NUL). */
static const char *next_line(const char *p) {
        const char *nl = strchr(p, '\n');
        return nl ? nl + 1 : p + strlen(p);
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Copies the whitespace-separated token at *p into buf and advances past it. */
static int take_token(const char **p, const char *eol, char *buf, size_t size) {
        const char *s = *p, *e;

        while (s < eol && is_blank(*s))
                s++;
        for (e = s; e < eol && !is_blank(*e); e++)
                ;
        if (e == s || (size_t) (e - s) >= size)
                return -EINVAL;
        memcpy(buf, s, (size_t) (e - s));
        buf[e - s] = '\0';
        *p = e;
        return 0;
}

static int kib_to_bytes(uint64_t kib, uint64_t *ret_bytes) {
        if (kib > UINT64_MAX / 1024)
                return -ERANGE;
        *ret_bytes = kib * 1024;
        return 0;
}

int probe_parse_swaps(const char *text, uint64_t *ret_bytes) {
        uint64_t total_kib = 0;
        const char *p;

        if (!text)
                return -EINVAL;
        /* "Filename\tType\tSize\tUsed\tPriority", then one line per device, sizes in KiB. File
         * names have their blanks escaped as \040 by the kernel, so splitting on blanks is
         * safe. */
        if (strncmp(text, "Filename", 8) != 0)
                return -EINVAL;
        for (p = next_line(text); *p != '\0'; p = next_line(p)) {
                const char *eol = strchrnul(p, '\n');
                char tok[PATH_MAX];
                uint64_t kib;
                int r;

                if (eol == p)
                        continue;
                r = take_token(&p, eol, tok, sizeof tok); /* file name */
                if (r < 0)
                        return r;
                r = take_token(&p, eol, tok, sizeof tok); /* type */
                if (r < 0)
                        return r;
                r = take_token(&p, eol, tok, sizeof tok); /* size */
                if (r < 0)
                        return r;
                r = parse_u64(tok, &kib);
                if (r < 0)
                        return r;
                if (kib > UINT64_MAX - total_kib)
                        return -ERANGE;
                total_kib += kib;
        }
        return kib_to_bytes(total_kib, ret_bytes);
}

int probe_parse_meminfo_swap_total(const char *text, uint64_t *ret_bytes) {
        if (!text)
                return -EINVAL;
        for (const char *p = text; *p != '\0'; p = next_line(p)) {
                const char *eol = strchrnul(p, '\n');
                char num[32], unit[8];
                uint64_t kib;
                int r;

                if (strncmp(p, "SwapTotal:", 10) != 0)
                        continue;
                p += 10;
                r = take_token(&p, eol, num, sizeof num);
                if (r < 0)
                        return r;
                r = take_token(&p, eol, unit, sizeof unit);
                if (r < 0)
                        return r;
                if (!streq(unit, "kB"))
                        return -EINVAL;
                r = parse_u64(num, &kib);
                if (r < 0)
                        return r;
                return kib_to_bytes(kib, ret_bytes);
        }
        return -EINVAL;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int probe_parse_status_capeff(const char *text, uint64_t *ret_mask) {
        if (!text)
                return -EINVAL;
        for (const char *p = text; *p != '\0'; p = next_line(p)) {
                const char *eol = strchrnul(p, '\n');
                uint64_t mask = 0;
                unsigned n = 0;

                if (strncmp(p, "CapEff:", 7) != 0)
                        continue;
                for (p += 7; p < eol && is_blank(*p); p++)
                        ;
                /* The kernel prints 16 hex digits; accept fewer, never more than fit. */
                for (; p < eol && !is_blank(*p); p++, n++) {
                        int d = hex_digit(*p);
                        if (d < 0 || n >= 16)
                                return -EINVAL;
                        mask = (mask << 4) | (uint64_t) d;
                }
                if (n == 0 || p != eol)
                        return -EINVAL;
                *ret_mask = mask;
                return 0;
        }
        return -EINVAL;
}
