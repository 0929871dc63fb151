/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small test framework: TEST(name) { ... } registers a test; ASSERT_* abort that test with a
 * message; SKIP("why") marks it skipped. main() runs every test (or those named on the command
 * line), prints "N passed, N failed, N skipped" and exits 0, 1, or 77 when everything skipped.
 * Each test runs in a forked child so a crash, a leaked fd or an ASSERT in one test cannot hide
 * or break another. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_func_t)(void);

struct test_case {
        const char *name;
        test_func_t func;
};

void test_register(const char *name, test_func_t func);
_Noreturn void test_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
_Noreturn void test_skip(const char *why);

#define TEST(name)                                                            \
        static void test_##name(void);                                        \
        __attribute__((constructor)) static void test_register_##name(void) { \
                test_register(#name, test_##name);                            \
        }                                                                     \
        static void test_##name(void)

#define SKIP(...)                                           \
        do {                                                \
                char _why_[512];                            \
                snprintf(_why_, sizeof _why_, __VA_ARGS__); \
                test_skip(_why_);                           \
        } while (0)

#define ASSERT_TRUE(e)                                                          \
        do {                                                                    \
                if (!(e))                                                       \
                        test_fail(__FILE__, __LINE__, "expected true: %s", #e); \
        } while (0)
#define ASSERT_FALSE(e) ASSERT_TRUE(!(e))

#define ASSERT_EQ(a, b)                                                                          \
        do {                                                                                     \
                intmax_t _a_ = (intmax_t) (a), _b_ = (intmax_t) (b);                             \
                if (_a_ != _b_)                                                                  \
                        test_fail(__FILE__, __LINE__, "%s == %s: %jd != %jd", #a, #b, _a_, _b_); \
        } while (0)
#define ASSERT_NE(a, b)                                                                   \
        do {                                                                              \
                intmax_t _a_ = (intmax_t) (a), _b_ = (intmax_t) (b);                      \
                if (_a_ == _b_)                                                           \
                        test_fail(__FILE__, __LINE__, "%s != %s: both %jd", #a, #b, _a_); \
        } while (0)
#define ASSERT_U64_EQ(a, b)                                                                      \
        do {                                                                                     \
                uint64_t _a_ = (uint64_t) (a), _b_ = (uint64_t) (b);                             \
                if (_a_ != _b_)                                                                  \
                        test_fail(__FILE__, __LINE__, "%s == %s: %#" PRIx64 " != %#" PRIx64, #a, \
                                  #b, _a_, _b_);                                                 \
        } while (0)
#define ASSERT_CMP(a, op, b)                                                                    \
        do {                                                                                    \
                intmax_t _a_ = (intmax_t) (a), _b_ = (intmax_t) (b);                            \
                if (!(_a_ op _b_))                                                              \
                        test_fail(__FILE__, __LINE__, "%s %s %s: %jd vs %jd", #a, #op, #b, _a_, \
                                  _b_);                                                         \
        } while (0)
/* r >= 0, else print the errno text */
#define ASSERT_OK(e)                                                                  \
        do {                                                                          \
                intmax_t _r_ = (intmax_t) (e);                                        \
                if (_r_ < 0)                                                          \
                        test_fail(__FILE__, __LINE__, "%s failed: %jd (%s)", #e, _r_, \
                                  strerror((int) -_r_));                              \
        } while (0)
#define ASSERT_ERROR(e, err)                                                                      \
        do {                                                                                      \
                intmax_t _r_ = (intmax_t) (e);                                                    \
                if (_r_ != -(intmax_t) (err))                                                     \
                        test_fail(__FILE__, __LINE__, "%s: expected -%s, got %jd (%s)", #e, #err, \
                                  _r_, _r_ < 0 ? strerror((int) -_r_) : "success");               \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                  \
        do {                                                                                \
                const char *_a_ = (a), *_b_ = (b);                                          \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0)                                  \
                        test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                                  _a_ ? _a_ : "(null)", _b_ ? _b_ : "(null)");              \
        } while (0)
