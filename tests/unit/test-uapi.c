/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vendored kernel definitions (daemon/common/uapi.h), or the system header that wins over
 * them, against the literal numbers in docs/kernel-interfaces.md §2 (verified on a 7.3 kernel).
 * The expected values are written out as numbers on purpose: comparing a macro with itself would
 * prove nothing. */

#include <stddef.h>

#include "test.h"
#include "uapi.h"

TEST(uffdio_rwprotect_layout) {
        ASSERT_EQ(sizeof(struct uffdio_rwprotect), 24);
        ASSERT_EQ(offsetof(struct uffdio_rwprotect, range), 0);
        ASSERT_EQ(offsetof(struct uffdio_rwprotect, range.start), 0);
        ASSERT_EQ(offsetof(struct uffdio_rwprotect, range.len), 8);
        ASSERT_EQ(offsetof(struct uffdio_rwprotect, mode), 16);
        ASSERT_U64_EQ(UFFDIO_RWPROTECT_MODE_RWP, 0x1);
        ASSERT_U64_EQ(UFFDIO_RWPROTECT_MODE_DONTWAKE, 0x2);
}

TEST(uffdio_set_mode_layout) {
        ASSERT_EQ(sizeof(struct uffdio_set_mode), 16);
        ASSERT_EQ(offsetof(struct uffdio_set_mode, enable), 0);
        ASSERT_EQ(offsetof(struct uffdio_set_mode, disable), 8);
}

TEST(uffd_ioctl_numbers) {
        ASSERT_U64_EQ(_UFFDIO_RWPROTECT, 0x09);
        ASSERT_U64_EQ(_UFFDIO_SET_MODE, 0x0A);
        ASSERT_U64_EQ((uint32_t) UFFDIO_RWPROTECT, 0xC018AA09);
        ASSERT_U64_EQ((uint32_t) UFFDIO_SET_MODE, 0x4010AA0A);
        /* How UFFDIO_API and UFFDIO_REGISTER advertise them (kernel-interfaces §6: api ioctls
         * 0x8000000000000403, range ioctls 0x33c on 7.3). */
        ASSERT_U64_EQ(UFFD_API_IOCTL_SET_MODE_BIT, 0x400);
        ASSERT_U64_EQ(UFFD_RANGE_IOCTL_RWPROTECT_BIT, 0x200);
}

TEST(uffd_feature_bits) {
        ASSERT_U64_EQ(UFFD_FEATURE_WP_UNPOPULATED, 1u << 13);
        ASSERT_U64_EQ(UFFD_FEATURE_WP_ASYNC, 1u << 15);
        ASSERT_U64_EQ(UFFD_FEATURE_MOVE, 1u << 16);
        ASSERT_U64_EQ(UFFD_FEATURE_RWP, 1u << 17);
        ASSERT_U64_EQ(UFFD_FEATURE_RWP_ASYNC, 1u << 18);
        ASSERT_U64_EQ(UFFDIO_REGISTER_MODE_RWP, 1u << 3);
        ASSERT_U64_EQ(UFFD_PAGEFAULT_FLAG_RWP, 1u << 3);
}

TEST(page_region_layout) {
        ASSERT_EQ(sizeof(struct page_region), 24);
        ASSERT_EQ(offsetof(struct page_region, start), 0);
        ASSERT_EQ(offsetof(struct page_region, end), 8);
        ASSERT_EQ(offsetof(struct page_region, categories), 16);
}

TEST(pm_scan_arg_layout) {
        ASSERT_EQ(sizeof(struct pm_scan_arg), 96);
        ASSERT_EQ(offsetof(struct pm_scan_arg, size), 0);
        ASSERT_EQ(offsetof(struct pm_scan_arg, flags), 8);
        ASSERT_EQ(offsetof(struct pm_scan_arg, start), 16);
        ASSERT_EQ(offsetof(struct pm_scan_arg, end), 24);
        ASSERT_EQ(offsetof(struct pm_scan_arg, walk_end), 32);
        ASSERT_EQ(offsetof(struct pm_scan_arg, vec), 40);
        ASSERT_EQ(offsetof(struct pm_scan_arg, vec_len), 48);
        ASSERT_EQ(offsetof(struct pm_scan_arg, max_pages), 56);
        ASSERT_EQ(offsetof(struct pm_scan_arg, category_inverted), 64);
        ASSERT_EQ(offsetof(struct pm_scan_arg, category_mask), 72);
        ASSERT_EQ(offsetof(struct pm_scan_arg, category_anyof_mask), 80);
        ASSERT_EQ(offsetof(struct pm_scan_arg, return_mask), 88);
}

TEST(pagemap_scan_numbers) {
        /* _IOWR('f', 16, 96 bytes): dir 3 << 30 | size 0x60 << 16 | 'f' << 8 | 16 */
        ASSERT_U64_EQ((uint32_t) PAGEMAP_SCAN, 0xC0606610);
        ASSERT_U64_EQ(PM_SCAN_WP_MATCHING, 0x1);
        ASSERT_U64_EQ(PM_SCAN_CHECK_WPASYNC, 0x2);
        ASSERT_U64_EQ(PAGE_IS_WPALLOWED, 0x1);
        ASSERT_U64_EQ(PAGE_IS_WRITTEN, 0x2);
        ASSERT_U64_EQ(PAGE_IS_FILE, 0x4);
        ASSERT_U64_EQ(PAGE_IS_PRESENT, 0x8);
        ASSERT_U64_EQ(PAGE_IS_SWAPPED, 0x10);
        ASSERT_U64_EQ(PAGE_IS_PFNZERO, 0x20);
        ASSERT_U64_EQ(PAGE_IS_HUGE, 0x40);
        ASSERT_U64_EQ(PAGE_IS_SOFT_DIRTY, 0x80);
        ASSERT_U64_EQ(PAGE_IS_GUARD, 0x100);
        ASSERT_U64_EQ(PAGE_IS_ACCESSED, 0x200);
}

TEST(syscalls_and_socket_options) {
        /* The generic syscall table (x86_64, arm64 and riscv64 share these numbers). */
        ASSERT_EQ(__NR_pidfd_open, 434);
        ASSERT_EQ(__NR_process_madvise, 440);
        ASSERT_EQ(MADV_PAGEOUT, 21);
        ASSERT_EQ(SO_PEERPIDFD, 77);
}
