/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "parse.h"

static int is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Parses "123" or "123.456" at *p; the integer part is required. Returns the value as
 * integer part plus fraction numerator/denominator so callers can scale without floats. */
static int parse_decimal(const char **p, uint64_t *ret_int, uint64_t *ret_frac, uint64_t *ret_den) {
        const char *s = *p;
        uint64_t v = 0, frac = 0, den = 1;

        if (!is_digit(*s))
                return -EINVAL;
        for (; is_digit(*s); s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (*s == '.') {
                s++;
                if (!is_digit(*s))
                        return -EINVAL;
                for (; is_digit(*s); s++)
                        if (den < 1000000000ULL) { /* ignore digits beyond 1e-9 */
                                frac = frac * 10 + (uint64_t) (*s - '0');
                                den *= 10;
                        }
        }
        *p = s;
        *ret_int = v;
        *ret_frac = frac;
        *ret_den = den;
        return 0;
}

/* v * mult + frac/den * mult, with overflow checks. */
static int scale(uint64_t v, uint64_t frac, uint64_t den, uint64_t mult, uint64_t *ret) {
        uint64_t r;

        if (mult != 0 && v > UINT64_MAX / mult)
                return -ERANGE;
        r = v * mult;
        if (frac != 0) {
                /* frac < den <= 1e9 and mult <= 2^40 for sizes / 86400e6 for durations: use
                 * 128-bit to stay exact. */
                unsigned __int128 f = (unsigned __int128) frac * mult / den;
                if (f > UINT64_MAX - r)
                        return -ERANGE;
                r += (uint64_t) f;
        }
        *ret = r;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v, frac, den;
        const char *p = s;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_decimal(&p, &v, &frac, &den);
        if (r < 0)
                return r;
        if (*p != '\0' || den != 1 || strchr(s, '.'))
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "", 1ULL },         { "B", 1ULL },         { "K", 1ULL << 10 },
                { "KB", 1ULL << 10 }, { "KiB", 1ULL << 10 }, { "M", 1ULL << 20 },
                { "MB", 1ULL << 20 }, { "MiB", 1ULL << 20 }, { "G", 1ULL << 30 },
                { "GB", 1ULL << 30 }, { "GiB", 1ULL << 30 }, { "T", 1ULL << 40 },
                { "TB", 1ULL << 40 }, { "TiB", 1ULL << 40 },
        };
        uint64_t v, frac, den;
        const char *p = s;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_decimal(&p, &v, &frac, &den);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcmp(p, table[i].suffix) == 0) {
                        /* "1.5" bytes makes no sense: a fraction needs a unit. */
                        if (table[i].factor == 1 && den != 1)
                                return -EINVAL;
                        return scale(v, frac, den, table[i].factor, ret_bytes);
                }
        return -EINVAL;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } table[] = {
                /* longest first so "min" wins over "m", "ms" over "m" */
                { "usec", 1ULL },
                { "us", 1ULL },
                { "msec", USEC_PER_MSEC },
                { "ms", USEC_PER_MSEC },
                { "seconds", USEC_PER_SEC },
                { "second", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "minutes", USEC_PER_MINUTE },
                { "minute", USEC_PER_MINUTE },
                { "min", USEC_PER_MINUTE },
                { "m", USEC_PER_MINUTE },
                { "hours", USEC_PER_HOUR },
                { "hour", USEC_PER_HOUR },
                { "h", USEC_PER_HOUR },
                { "days", USEC_PER_DAY },
                { "day", USEC_PER_DAY },
                { "d", USEC_PER_DAY },
        };
        uint64_t total = 0;
        const char *p = s;
        bool first = true;
        int r;

        if (!s || *s == '\0')
                return -EINVAL;
        for (;;) {
                uint64_t v, frac, den, part, unit = 0;
                size_t ulen = 0;

                r = parse_decimal(&p, &v, &frac, &den);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                        size_t l = strlen(table[i].suffix);
                        if (strncmp(p, table[i].suffix, l) == 0 &&
                            (p[l] == '\0' || p[l] == ' ' || is_digit(p[l]))) {
                                unit = table[i].usec;
                                ulen = l;
                                break;
                        }
                }
                if (unit == 0) {
                        /* a bare number is seconds, but only as the whole string */
                        if (!first || *p != '\0')
                                return -EINVAL;
                        unit = USEC_PER_SEC;
                }
                p += ulen;
                r = scale(v, frac, den, unit, &part);
                if (r < 0)
                        return r;
                if (part > UINT64_MAX - 1 - total) /* UINT64_MAX is reserved for "infinity" */
                        return -ERANGE;
                total += part;
                first = false;
                if (*p == '\0')
                        break;
                if (*p == ' ') {
                        p++;
                        if (!is_digit(*p))
                                return -EINVAL;
                }
        }
        *ret_usec = total;
        return 0;
}

int parse_percent(const char *s, unsigned *ret_permyriad) {
        uint64_t v, frac, den, r64;
        const char *p = s;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_decimal(&p, &v, &frac, &den);
        if (r < 0)
                return r;
        if (strcmp(p, "%") != 0)
                return -EINVAL;
        if (den > 100) /* at most two decimals: the result is in hundredths of a percent */
                return -EINVAL;
        r = scale(v, frac, den, 100, &r64);
        if (r < 0 || r64 > 10000)
                return -ERANGE;
        *ret_permyriad = (unsigned) r64;
        return 0;
}

int parse_boolean(const char *s, int *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = 1;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = 0;
                        return 0;
                }
        return -EINVAL;
}

char *format_bytes(char *buf, size_t len, uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        int i = -1;
        uint64_t whole = bytes;

        while (whole >= 1024 && i < (int) sizeof(suffixes) - 2) {
                whole /= 1024;
                i++;
        }
        if (i < 0)
                snprintf(buf, len, "%" PRIu64 "B", bytes);
        else {
                uint64_t unit = 1ULL << (10 * (i + 1));
                uint64_t tenths = (bytes % unit) * 10 / unit;
                snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", bytes / unit, tenths, suffixes[i]);
        }
        return buf;
}

char *format_duration(char *buf, size_t len, uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } table[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR },  { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t off = 0;

        if (usec == USEC_INFINITY) {
                snprintf(buf, len, "infinity");
                return buf;
        }
        if (usec == 0) {
                snprintf(buf, len, "0");
                return buf;
        }
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(table) && usec > 0 && off < len; i++) {
                uint64_t n = usec / table[i].usec;
                if (n == 0)
                        continue;
                int w = snprintf(buf + off, len - off, "%s%" PRIu64 "%s", off ? " " : "", n,
                                 table[i].suffix);
                if (w < 0)
                        break;
                off += (size_t) w;
                usec -= n * table[i].usec;
        }
        return buf;
}
