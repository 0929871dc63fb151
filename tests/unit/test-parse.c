/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "parse.h"
#include "test.h"

TEST(size_good) {
        static const struct {
                const char *s;
                uint64_t v;
        } t[] = {
                { "0", 0 },
                { "4096", 4096 },
                { "512K", 512ULL << 10 },
                { "512M", 512ULL << 20 },
                { "2G", 2ULL << 30 },
                { "1T", 1ULL << 40 },
                { "1.5G", 3ULL << 29 },
                { "64MiB", 64ULL << 20 },
                { "64MB", 64ULL << 20 },
                { "10B", 10 },
                { "16E" /* not a suffix we know */, 0 },
        };
        for (size_t i = 0; i + 1 < sizeof t / sizeof t[0]; i++) {
                uint64_t v = 1;
                ASSERT_OK(parse_size(t[i].s, &v));
                ASSERT_U64_EQ(v, t[i].v);
        }
}

TEST(size_bad) {
        static const char *const bad[] = {
                "",    "M",  "-1",  "-1M",  " 1M", "1M ", "1 M", "1.M", ".5M",
                "1.5", "1Q", "1MM", "0x10", "+5",  "1e3", "16E", "1m", /* lower-case is not a size suffix */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                uint64_t v = 7;
                if (parse_size(bad[i], &v) >= 0)
                        test_fail(__FILE__, __LINE__, "\"%s\" was accepted", bad[i]);
                ASSERT_U64_EQ(v, 7); /* untouched on error */
        }
        uint64_t v;
        ASSERT_ERROR(parse_size("18446744073709551616", &v), ERANGE);
        ASSERT_ERROR(parse_size("17179869184G", &v), ERANGE);
        ASSERT_ERROR(parse_size(NULL, &v), EINVAL);
}

TEST(duration_good) {
        static const struct {
                const char *s;
                uint64_t usec;
        } t[] = {
                { "10s", 10000000ULL },
                { "10", 10000000ULL },
                { "2min", 120000000ULL },
                { "1h 30min", 5400000000ULL },
                { "1h30min", 5400000000ULL },
                { "250ms", 250000ULL },
                { "3us", 3ULL },
                { "1.5s", 1500000ULL },
                { "1d", 86400000000ULL },
                { "5sec", 5000000ULL },
                { "0", 0 },
                { "2m", 120000000ULL },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                uint64_t v = 1;
                ASSERT_OK(parse_duration(t[i].s, &v));
                if (v != t[i].usec)
                        test_fail(__FILE__, __LINE__, "\"%s\": %llu != %llu", t[i].s,
                                  (unsigned long long) v, (unsigned long long) t[i].usec);
        }
}

TEST(duration_bad) {
        static const char *const bad[] = {
                "",
                "s",
                "-1s",
                "10x",
                "10 s",
                "1h ",
                " 1h",
                "1h  2min",
                "10mins",
                "1.s",
                "1h 5",
                "abc",
                "10s10",
                "99999999999999999999s",
                "213503982336d",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                uint64_t v = 7;
                if (parse_duration(bad[i], &v) >= 0)
                        test_fail(__FILE__, __LINE__, "\"%s\" was accepted", bad[i]);
                ASSERT_U64_EQ(v, 7);
        }
}

TEST(percent) {
        unsigned p = 0;
        ASSERT_OK(parse_percent("10%", &p));
        ASSERT_EQ(p, 1000);
        ASSERT_OK(parse_percent("12.5%", &p));
        ASSERT_EQ(p, 1250);
        ASSERT_OK(parse_percent("0%", &p));
        ASSERT_EQ(p, 0);
        ASSERT_OK(parse_percent("100%", &p));
        ASSERT_EQ(p, 10000);
        ASSERT_OK(parse_percent("0.01%", &p));
        ASSERT_EQ(p, 1);
        p = 5;
        ASSERT_ERROR(parse_percent("101%", &p), ERANGE);
        ASSERT_ERROR(parse_percent("10", &p), EINVAL);
        ASSERT_ERROR(parse_percent("%", &p), EINVAL);
        ASSERT_ERROR(parse_percent("-1%", &p), EINVAL);
        ASSERT_ERROR(parse_percent("1.234%", &p), EINVAL);
        ASSERT_ERROR(parse_percent("10 %", &p), EINVAL);
        ASSERT_EQ(p, 5);
}

TEST(u64_and_boolean) {
        uint64_t v;
        int b = -1;
        ASSERT_OK(parse_u64("18446744073709551615", &v));
        ASSERT_U64_EQ(v, UINT64_MAX);
        ASSERT_ERROR(parse_u64("18446744073709551616", &v), ERANGE);
        ASSERT_ERROR(parse_u64("1.0", &v), EINVAL);
        ASSERT_ERROR(parse_u64("", &v), EINVAL);
        ASSERT_OK(parse_boolean("yes", &b));
        ASSERT_EQ(b, 1);
        ASSERT_OK(parse_boolean("OFF", &b));
        ASSERT_EQ(b, 0);
        ASSERT_ERROR(parse_boolean("maybe", &b), EINVAL);
}

TEST(format) {
        char buf[FORMAT_DURATION_MAX];
        ASSERT_STREQ(format_bytes(buf, sizeof buf, 512), "512B");
        ASSERT_STREQ(format_bytes(buf, sizeof buf, 1536), "1.5K");
        ASSERT_STREQ(format_bytes(buf, sizeof buf, 256ULL << 20), "256.0M");
        ASSERT_STREQ(format_duration(buf, sizeof buf, 125000000ULL), "2min 5s");
        ASSERT_STREQ(format_duration(buf, sizeof buf, 0), "0");
}
