/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel feature probe: which access-tracking backend this kernel supports, and what the daemon
 * can and cannot do here. Split so tests can feed recorded kernels:
 *   probe_run()     I/O (probe-io.c): gathers raw facts on throwaway fds (ProbeInput); paths
 *                   are parameters, so a test can point them at a fake tree.
 *   probe_decide()  pure (probe.c): facts -> backend, reasons, blind spots, warnings.
 *   output          probe-print.h: text (probe-text.c) and JSON (probe-json.c, the only file
 *                   that includes <jansson.h>) for `uffdtierd --probe [--json]`.
 *   parsers         probe-parse.h: the /proc text parsers probe_run() uses.
 * Detection goes by feature bits and the UFFDIO_API ioctl mask, never by kernel version. The
 * engine calls probe_run() + probe_decide() once at start-up: both are cheap (a few syscalls). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "swap-setup.h"
#include "uffd-create.h"

/* JSON/text names of UffdSource (uffd-create.h): "none", "dev_userfaultfd", "syscall". */
const char *uffd_source_to_string(UffdSource s);

typedef struct ProbePaths {
        const char *proc_root; /* "/proc": swaps, meminfo, pressure/, self/, sys/vm/ */
        const char *dev_userfaultfd; /* "/dev/userfaultfd" */
        const char *sys_root; /* "/sys": zswap's module parameters; NULL: not read */
} ProbePaths;

extern const ProbePaths probe_paths_default;

/* Raw facts. Errno fields are positive errno values (0 when the probe worked). */
typedef struct ProbeInput {
        bool uffd_available;
        int uffd_errno;
        UffdSource uffd_source;
        /* The uffd could only be created with UFFD_USER_MODE_ONLY (vm.unprivileged_userfaultfd=0
         * and no CAP_SYS_PTRACE): kernel-mode accesses to protected memory then fail with
         * EFAULT instead of faulting. */
        bool uffd_user_mode_only;
        uint64_t features_offered; /* uffdio_api.features after UFFDIO_API(features=0) */
        uint64_t api_ioctls; /* uffdio_api.ioctls */
        /* vm.unprivileged_userfaultfd, -1 when unreadable. */
        int unprivileged_userfaultfd;

        bool pagemap_scan;
        int pagemap_scan_errno;

        bool swap_known;
        uint64_t swap_bytes;
        /* what a page-out does to memory here (zswap, zram, plain devices and files) */
        bool swap_setup_known;
        SwapSetup swap_setup;

        bool psi; /* <proc>/pressure/memory readable */

        bool process_madvise;
        int process_madvise_errno;

        bool so_peerpidfd;
        int so_peerpidfd_errno;

        bool cap_sys_ptrace; /* in CapEff of <proc>/self/status */
        bool cap_sys_nice;
} ProbeInput;

#define PROBE_TEXT_MAX 256
#define PROBE_NOTES_MAX 12

typedef struct ProbeResult {
        Backend backend;
        bool available[_BACKEND_MAX];
        /* Why each backend cannot be used; "" when it can (BACKEND_NONE always can). */
        char reason[_BACKEND_MAX][PROBE_TEXT_MAX];
        /* What the chosen backend cannot observe. */
        const char *cannot_see[PROBE_NOTES_MAX];
        size_t n_cannot_see;
        /* Operational problems (no swap, missing capabilities, ...). */
        char warnings[PROBE_NOTES_MAX][PROBE_TEXT_MAX];
        size_t n_warnings;
} ProbeResult;

/* Gathers the facts. Individual probe failures are facts, not errors: this only fails with
 * -EINVAL for bad arguments. paths may be NULL for probe_paths_default. */
int probe_run(const ProbePaths *paths, ProbeInput *ret);

/* Pure: picks the best backend (rwp > wp-async > none) and explains the rest. */
int probe_decide(const ProbeInput *in, ProbeResult *ret);

/* Name of one UFFD_FEATURE_* bit without the prefix ("WP_ASYNC"); NULL when unknown. */
const char *probe_feature_to_string(uint64_t feature);
