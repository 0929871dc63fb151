/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The probe's pure half on recorded kernels: names, probe_decide(), the /proc parsers, and the
 * text and JSON output. probe_run() itself is in test-probe-io.c. */
#include <jansson.h>

#include "macro.h"
#include "probe-parse.h"
#include "probe-print.h"
#include "probe.h"
#include "test.h"

/* UFFDIO_API(features=0) answers recorded on real kernels (features, api ioctls). */
/* This development machine, Linux 6.18 x86_64 (both /dev/userfaultfd and userfaultfd(2)). */
#define K618_FEATURES UINT64_C(0x1ffff)
#define K618_IOCTLS UINT64_C(0x8000000000000003)
/* Debian linux 7.3-rc7 with CONFIG_USERFAULTFD_RWP=y (kernel-interfaces §6). */
#define K73_FEATURES UINT64_C(0x7ffff)
#define K73_IOCTLS UINT64_C(0x8000000000000403)
/* Linux 6.1 (Debian 12): UFFD_API_FEATURES of its x86_64 UAPI header, bits 0..12. */
#define K61_FEATURES UINT64_C(0x1fff)
#define K61_IOCTLS UINT64_C(0x8000000000000003)

#define RWP_BITS ((UINT64_C(1) << 17) | (UINT64_C(1) << 18))

/* A healthy host around a given kernel answer: swap, caps, PSI, everything but the uffd bits. */
static ProbeInput host(uint64_t features, uint64_t ioctls, bool pagemap_scan) {
        return (ProbeInput){
                .uffd_available = true,
                .uffd_source = UFFD_SOURCE_DEV,
                .features_offered = features,
                .api_ioctls = ioctls,
                .unprivileged_userfaultfd = 1,
                .pagemap_scan = pagemap_scan,
                .pagemap_scan_errno = pagemap_scan ? 0 : ENOTTY,
                .swap_known = true,
                .swap_bytes = UINT64_C(2) << 30,
                .psi = true,
                .process_madvise = true,
                .so_peerpidfd = true,
                .cap_sys_ptrace = true,
                .cap_sys_nice = true,
        };
}

static bool contains(const char *haystack, const char *needle) {
        return strstr(haystack, needle) != NULL;
}

static bool has_warning(const ProbeResult *r, const char *needle) {
        for (size_t i = 0; i < r->n_warnings; i++)
                if (contains(r->warnings[i], needle))
                        return true;
        return false;
}

static bool has_cannot_see(const ProbeResult *r, const char *needle) {
        for (size_t i = 0; i < r->n_cannot_see; i++)
                if (contains(r->cannot_see[i], needle))
                        return true;
        return false;
}

TEST(backend_strings) {
        ASSERT_STREQ(backend_to_string(BACKEND_NONE), "none");
        ASSERT_STREQ(backend_to_string(BACKEND_WP_ASYNC), "wp-async");
        ASSERT_STREQ(backend_to_string(BACKEND_RWP), "rwp");
        ASSERT_TRUE(backend_to_string(_BACKEND_MAX) == NULL);
        ASSERT_TRUE(backend_to_string(_BACKEND_INVALID) == NULL);
        for (Backend b = 0; b < _BACKEND_MAX; b++)
                ASSERT_EQ(backend_from_string(backend_to_string(b)), b);
        ASSERT_EQ(backend_from_string("wp_async"), -EINVAL);
        ASSERT_EQ(backend_from_string("RWP"), -EINVAL);
        ASSERT_EQ(backend_from_string(""), -EINVAL);
        ASSERT_EQ(backend_from_string(NULL), -EINVAL);
        ASSERT_STREQ(uffd_source_to_string(UFFD_SOURCE_DEV), "dev_userfaultfd");
        ASSERT_STREQ(uffd_source_to_string(UFFD_SOURCE_SYSCALL), "syscall");
}

TEST(feature_names) {
        ASSERT_STREQ(probe_feature_to_string(UINT64_C(1) << 0), "PAGEFAULT_FLAG_WP");
        ASSERT_STREQ(probe_feature_to_string(UINT64_C(1) << 15), "WP_ASYNC");
        ASSERT_STREQ(probe_feature_to_string(UINT64_C(1) << 18), "RWP_ASYNC");
        ASSERT_TRUE(probe_feature_to_string(UINT64_C(1) << 19) == NULL);
        ASSERT_TRUE(probe_feature_to_string(0) == NULL);
        ASSERT_TRUE(probe_feature_to_string(3) == NULL);
}

TEST(decide_table) {
        ProbeInput no_uffd = host(0, 0, true);
        no_uffd.uffd_available = false;
        no_uffd.uffd_errno = ENOSYS;
        no_uffd.uffd_source = UFFD_SOURCE_NONE;

        const struct {
                const char *name;
                ProbeInput in;
                Backend backend;
                bool wp_async;
                const char *rwp_reason; /* substring, NULL when rwp is available */
                const char *wp_async_reason; /* substring, NULL when wp-async is available */
        } t[] = {
                { "6.18 (this machine)", host(K618_FEATURES, K618_IOCTLS, true), BACKEND_WP_ASYNC,
                  true, "kernel lacks UFFD_FEATURE_RWP, UFFD_FEATURE_RWP_ASYNC and UFFDIO_SET_MODE",
                  NULL },
                { "7.3 RWP", host(K73_FEATURES, K73_IOCTLS, true), BACKEND_RWP, true, NULL, NULL },
                { "6.1", host(K61_FEATURES, K61_IOCTLS, false), BACKEND_NONE, false,
                  "UFFD_FEATURE_RWP",
                  "kernel lacks UFFD_FEATURE_WP_UNPOPULATED and UFFD_FEATURE_WP_ASYNC (needs "
                  "Linux 6.7); kernel lacks PAGEMAP_SCAN" },
                { "RWP bits without SET_MODE", host(K618_FEATURES | RWP_BITS, K618_IOCTLS, true),
                  BACKEND_WP_ASYNC, true, "kernel lacks UFFDIO_SET_MODE (", NULL },
                { "RWP without RWP_ASYNC",
                  host(K73_FEATURES & ~(UINT64_C(1) << 18), K73_IOCTLS, true), BACKEND_WP_ASYNC,
                  true, "kernel lacks UFFD_FEATURE_RWP_ASYNC (", NULL },
                { "SET_MODE without RWP features", host(K618_FEATURES, K73_IOCTLS, true),
                  BACKEND_WP_ASYNC, true,
                  "kernel lacks UFFD_FEATURE_RWP and UFFD_FEATURE_RWP_ASYNC (", NULL },
                { "WP_ASYNC without PAGEMAP_SCAN", host(K618_FEATURES, K618_IOCTLS, false),
                  BACKEND_NONE, false, "UFFD_FEATURE_RWP",
                  "kernel lacks PAGEMAP_SCAN on /proc/PID/pagemap (needs Linux 6.7)" },
                { "WP_ASYNC without WP_UNPOPULATED",
                  host(K618_FEATURES & ~(UINT64_C(1) << 13), K618_IOCTLS, true), BACKEND_NONE,
                  false, "UFFD_FEATURE_RWP", "kernel lacks UFFD_FEATURE_WP_UNPOPULATED (" },
                { "7.3 with PAGEMAP_SCAN failing", host(K73_FEATURES, K73_IOCTLS, false),
                  BACKEND_NONE, false, "PAGEMAP_SCAN", "PAGEMAP_SCAN" },
                { "no userfaultfd", no_uffd, BACKEND_NONE, false,
                  "userfaultfd unavailable: Function not implemented",
                  "userfaultfd unavailable: Function not implemented" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                ProbeResult r;

                fprintf(stderr, "case: %s\n", t[i].name);
                ASSERT_OK(probe_decide(&t[i].in, &r));
                ASSERT_STREQ(backend_to_string(r.backend), backend_to_string(t[i].backend));
                ASSERT_TRUE(r.available[BACKEND_NONE]);
                ASSERT_STREQ(r.reason[BACKEND_NONE], "");
                ASSERT_EQ(r.available[BACKEND_RWP], t[i].rwp_reason == NULL);
                ASSERT_EQ(r.available[BACKEND_WP_ASYNC], t[i].wp_async);
                if (t[i].rwp_reason) {
                        if (!contains(r.reason[BACKEND_RWP], t[i].rwp_reason))
                                test_fail(__FILE__, __LINE__, "rwp reason \"%s\" lacks \"%s\"",
                                          r.reason[BACKEND_RWP], t[i].rwp_reason);
                } else
                        ASSERT_STREQ(r.reason[BACKEND_RWP], "");
                if (t[i].wp_async_reason) {
                        if (!contains(r.reason[BACKEND_WP_ASYNC], t[i].wp_async_reason))
                                test_fail(__FILE__, __LINE__, "wp-async reason \"%s\" lacks \"%s\"",
                                          r.reason[BACKEND_WP_ASYNC], t[i].wp_async_reason);
                } else
                        ASSERT_STREQ(r.reason[BACKEND_WP_ASYNC], "");
                ASSERT_CMP(r.n_cannot_see, >, 0);
        }
}

TEST(decide_reasons_exact) {
        ProbeInput in = host(K618_FEATURES, K618_IOCTLS, true);
        ProbeResult r;

        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_STREQ(r.reason[BACKEND_RWP],
                     "kernel lacks UFFD_FEATURE_RWP, UFFD_FEATURE_RWP_ASYNC and UFFDIO_SET_MODE "
                     "(needs Linux 7.3 with CONFIG_USERFAULTFD_RWP=y)");

        in.pagemap_scan = false;
        in.pagemap_scan_errno = EACCES;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_STREQ(r.reason[BACKEND_WP_ASYNC],
                     "PAGEMAP_SCAN on /proc/self/pagemap failed: Permission denied");
}

TEST(decide_cannot_see) {
        ProbeInput in = host(K618_FEATURES, K618_IOCTLS, true);
        ProbeResult r;

        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_TRUE(has_cannot_see(&r,
                                   "reads of resident pages are invisible; reads are seen "
                                   "only as refaults of evicted pages"));
        ASSERT_TRUE(has_cannot_see(&r, "no sync window"));

        in = host(K73_FEATURES, K73_IOCTLS, true);
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_FALSE(has_cannot_see(&r, "reads of resident pages"));
        ASSERT_TRUE(has_cannot_see(&r, "shmem and file pages"));

        in = host(K61_FEATURES, K61_IOCTLS, false);
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_TRUE(has_cannot_see(&r, "any page access"));
}

TEST(decide_warnings) {
        ProbeInput in = host(K73_FEATURES, K73_IOCTLS, true);
        ProbeResult r;

        /* A healthy host has nothing to warn about. */
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_EQ(r.n_warnings, 0);

        in.swap_bytes = 0;
        in.cap_sys_nice = false;
        in.psi = false;
        in.so_peerpidfd = false;
        in.so_peerpidfd_errno = ENOPROTOOPT;
        in.unprivileged_userfaultfd = 0;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_TRUE(has_warning(&r, "no swap configured"));
        ASSERT_TRUE(has_warning(&r, "monitor only"));
        ASSERT_TRUE(has_warning(&r, "no CAP_SYS_NICE"));
        ASSERT_TRUE(has_warning(&r, "PSI unavailable"));
        ASSERT_TRUE(has_warning(&r, "SO_PEERPIDFD unsupported (Protocol not available"));
        ASSERT_TRUE(has_warning(&r, "vm.unprivileged_userfaultfd=0:"));
        ASSERT_FALSE(has_warning(&r, "CAP_SYS_PTRACE"));
        ASSERT_EQ(r.n_warnings, 5);

        in = host(K618_FEATURES, K618_IOCTLS, true);
        in.swap_known = false;
        in.process_madvise = false;
        in.process_madvise_errno = ENOSYS;
        in.cap_sys_ptrace = false;
        in.uffd_user_mode_only = true;
        in.unprivileged_userfaultfd = 0; /* only matters for rwp's sync window */
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_TRUE(has_warning(&r, "swap size unknown"));
        ASSERT_TRUE(has_warning(&r,
                                "process_madvise(MADV_PAGEOUT) unusable: kernel lacks "
                                "process_madvise"));
        ASSERT_TRUE(has_warning(&r, "no CAP_SYS_PTRACE"));
        ASSERT_TRUE(has_warning(&r, "UFFD_USER_MODE_ONLY"));
        ASSERT_FALSE(has_warning(&r, "vm.unprivileged_userfaultfd=0:"));
        ASSERT_EQ(r.n_warnings, 4);

        in.process_madvise_errno = EPERM;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_TRUE(has_warning(&r, "not permitted (needs CAP_SYS_NICE"));

        ASSERT_ERROR(probe_decide(NULL, &r), EINVAL);
        ASSERT_ERROR(probe_decide(&in, NULL), EINVAL);
}

TEST(decide_warns_when_pageout_keeps_memory) {
        ProbeInput in = host(K618_FEATURES, K618_IOCTLS, true);
        ProbeResult r;

        /* a plain swap file, zswap off: the written pages stay in the swap cache */
        in.swap_setup_known = true;
        in.swap_setup.n_devices = 1;
        in.swap_setup.devices[0] = (SwapDevice){ .path = "/swapfile",
                                                 .kind = SWAP_KIND_FILE,
                                                 .size_bytes = UINT64_C(1) << 30 };
        in.swap_setup.zswap_present = true;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_TRUE(has_warning(&r, "a page-out does not free memory at once"));
        ASSERT_TRUE(has_warning(&r, "enable zswap"));

        in.swap_setup.zswap_enabled = true;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_FALSE(has_warning(&r, "does not free memory"));

        in.swap_setup.zswap_enabled = false;
        in.swap_setup.devices[0].kind = SWAP_KIND_ZRAM;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_FALSE(has_warning(&r, "does not free memory"));
}

TEST(parse_swaps) {
        uint64_t v = 7;

        ASSERT_OK(probe_parse_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", &v));
        ASSERT_U64_EQ(v, 0);
        ASSERT_OK(probe_parse_swaps(
                "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                "/swapfile                               file\t\t2097148\t\t0\t\t-2\n"
                "/dev/zram0                              partition\t1048572\t\t512\t\t100\n"
                "/var/my\\040swap                         file\t\t4\t\t0\t\t-3\n",
                &v));
        ASSERT_U64_EQ(v, (UINT64_C(2097148) + 1048572 + 4) * 1024);

        v = 7;
        ASSERT_ERROR(probe_parse_swaps("", &v), EINVAL);
        ASSERT_ERROR(probe_parse_swaps("/swapfile file 4 0 -2\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_swaps("Filename Type Size Used Priority\n/swapfile file\n", &v),
                     EINVAL);
        ASSERT_ERROR(probe_parse_swaps("Filename Type Size Used Priority\n/s file -4 0 -2\n", &v),
                     EINVAL);
        ASSERT_ERROR(probe_parse_swaps("Filename Type Size Used Priority\n"
                                       "/s file 18014398509481984 0 -2\n",
                                       &v),
                     ERANGE);
        ASSERT_ERROR(probe_parse_swaps(NULL, &v), EINVAL);
        ASSERT_U64_EQ(v, 7);
}

TEST(parse_meminfo) {
        uint64_t v = 7;

        ASSERT_OK(probe_parse_meminfo_swap_total("MemTotal:       16318780 kB\n"
                                                 "SwapCached:            0 kB\n"
                                                 "SwapTotal:       2097148 kB\n"
                                                 "SwapFree:        2097148 kB\n",
                                                 &v));
        ASSERT_U64_EQ(v, UINT64_C(2097148) * 1024);
        ASSERT_OK(probe_parse_meminfo_swap_total("SwapTotal:             0 kB", &v));
        ASSERT_U64_EQ(v, 0);

        v = 7;
        ASSERT_ERROR(probe_parse_meminfo_swap_total("MemTotal: 1 kB\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_meminfo_swap_total("SwapTotal: 12 MB\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_meminfo_swap_total("SwapTotal:\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_meminfo_swap_total("SwapTotal: x kB\n", &v), EINVAL);
        ASSERT_U64_EQ(v, 7);
}

TEST(parse_capeff) {
        uint64_t v = 7;

        ASSERT_OK(probe_parse_status_capeff("Name:\tcat\nCapInh:\t0000000000000000\n"
                                            "CapPrm:\t000001fffeffffff\n"
                                            "CapEff:\t000001fffeffffff\n"
                                            "CapBnd:\t000001fffeffffff\n",
                                            &v));
        ASSERT_U64_EQ(v, 0x1fffeffffffULL);
        ASSERT_OK(probe_parse_status_capeff("CapEff:\t0000000000880000", &v));
        ASSERT_U64_EQ(v, (1ULL << 19) | (1ULL << 23));

        v = 7;
        ASSERT_ERROR(probe_parse_status_capeff("CapPrm:\t0000000000000000\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_status_capeff("CapEff:\t\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_status_capeff("CapEff:\t00000000000000xx\n", &v), EINVAL);
        ASSERT_ERROR(probe_parse_status_capeff("CapEff:\t00000000000000000\n", &v), EINVAL);
        ASSERT_U64_EQ(v, 7);
}

TEST(json_output) {
        ProbeInput in = host(K618_FEATURES, K618_IOCTLS, true);
        json_auto_t *j = NULL;
        json_t *o, *names;
        ProbeResult r;

        in.swap_bytes = 0;
        in.cap_sys_nice = false;
        ASSERT_OK(probe_decide(&in, &r));
        ASSERT_OK(probe_to_json(&in, &r, &j));

        ASSERT_STREQ(json_string_value(json_object_get(j, "backend")), "wp-async");
        o = json_object_get(j, "rwp");
        ASSERT_TRUE(json_is_false(json_object_get(o, "available")));
        ASSERT_STREQ(json_string_value(json_object_get(o, "reason")), r.reason[BACKEND_RWP]);
        o = json_object_get(j, "wp_async");
        ASSERT_TRUE(json_is_true(json_object_get(o, "available")));
        ASSERT_TRUE(json_is_null(json_object_get(o, "reason")));

        o = json_object_get(j, "features_offered");
        ASSERT_STREQ(json_string_value(json_object_get(o, "mask")), "0x1ffff");
        names = json_object_get(o, "names");
        ASSERT_EQ(json_array_size(names), 17);
        ASSERT_STREQ(json_string_value(json_array_get(names, 0)), "PAGEFAULT_FLAG_WP");
        ASSERT_STREQ(json_string_value(json_array_get(names, 16)), "MOVE");
        ASSERT_STREQ(json_string_value(json_object_get(j, "api_ioctls")), "0x8000000000000003");

        ASSERT_EQ(json_integer_value(json_object_get(j, "swap_bytes")), 0);
        ASSERT_TRUE(json_is_true(json_object_get(j, "psi")));
        ASSERT_TRUE(json_is_true(json_object_get(j, "process_madvise")));
        ASSERT_TRUE(json_is_true(json_object_get(j, "so_peerpidfd")));
        ASSERT_TRUE(json_is_true(json_object_get(j, "pagemap_scan")));
        ASSERT_STREQ(json_string_value(json_object_get(j, "uffd_source")), "dev_userfaultfd");
        o = json_object_get(j, "capabilities");
        ASSERT_TRUE(json_is_true(json_object_get(o, "cap_sys_ptrace")));
        ASSERT_TRUE(json_is_false(json_object_get(o, "cap_sys_nice")));
        ASSERT_EQ(json_array_size(json_object_get(j, "cannot_see")), r.n_cannot_see);
        ASSERT_EQ(json_array_size(json_object_get(j, "warnings")), 2);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(j, "warnings"), 0)),
                     r.warnings[0]);

        /* Unknown feature bits still show up, by number. */
        in.features_offered |= UINT64_C(1) << 40;
        json_decref(j);
        j = NULL;
        ASSERT_OK(probe_to_json(&in, &r, &j));
        names = json_object_get(json_object_get(j, "features_offered"), "names");
        ASSERT_STREQ(json_string_value(json_array_get(names, 17)), "bit_40");
}

static char *print_to_string(int (*print)(FILE *, const ProbeInput *, const ProbeResult *),
                             const ProbeInput *in, const ProbeResult *r) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        ASSERT_TRUE(f != NULL);
        ASSERT_OK(print(f, in, r));
        ASSERT_EQ(fclose(f), 0);
        return buf;
}

TEST(print_text_and_json) {
        ProbeInput in = host(K73_FEATURES, K73_IOCTLS, true);
        json_auto_t *j = NULL;
        ProbeResult r;
        char *s;

        ASSERT_OK(probe_decide(&in, &r));
        s = print_to_string(probe_print_text, &in, &r);
        fputs(s, stderr);
        ASSERT_TRUE(contains(s, "Backend:"));
        ASSERT_TRUE(contains(s, " rwp\n"));
        ASSERT_TRUE(contains(s, "/dev/userfaultfd"));
        ASSERT_TRUE(contains(s, "0x7ffff"));
        ASSERT_TRUE(contains(s, "RWP_ASYNC"));
        ASSERT_TRUE(contains(s, "UFFDIO_SET_MODE:"));
        ASSERT_TRUE(contains(s, "2.0G"));
        ASSERT_TRUE(contains(s, "Cannot see:"));
        ASSERT_FALSE(contains(s, "Warnings:"));
        free(s);

        in = host(K61_FEATURES, K61_IOCTLS, false);
        in.uffd_source = UFFD_SOURCE_SYSCALL;
        ASSERT_OK(probe_decide(&in, &r));
        s = print_to_string(probe_print_text, &in, &r);
        fputs(s, stderr);
        ASSERT_TRUE(contains(s, " none\n"));
        ASSERT_TRUE(contains(s, "userfaultfd(2)"));
        ASSERT_TRUE(contains(s, "UFFD_FEATURE_WP_ASYNC:"));
        ASSERT_TRUE(contains(s, "no (needs Linux 6.7)"));
        ASSERT_TRUE(contains(s, "no (Inappropriate ioctl for device)"));
        free(s);

        s = print_to_string(probe_print_json, &in, &r);
        j = json_loads(s, 0, NULL);
        free(s);
        ASSERT_TRUE(j != NULL);
        ASSERT_STREQ(json_string_value(json_object_get(j, "backend")), "none");
        ASSERT_STREQ(json_string_value(json_object_get(j, "uffd_source")), "syscall");
}
