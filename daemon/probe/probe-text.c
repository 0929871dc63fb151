/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `uffdtierd --probe`: the facts and the decision as aligned text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse.h"
#include "probe-print.h"
#include "uapi.h"

static const struct {
        uint64_t bit;
        bool ioctl; /* a bit of uffdio_api.ioctls rather than of features */
        const char *name;
        const char *since;
} key_features[] = {
        { UFFD_FEATURE_WP_UNPOPULATED, false, "UFFD_FEATURE_WP_UNPOPULATED", "Linux 6.4" },
        { UFFD_FEATURE_WP_ASYNC, false, "UFFD_FEATURE_WP_ASYNC", "Linux 6.7" },
        { UFFD_FEATURE_MOVE, false, "UFFD_FEATURE_MOVE", "Linux 6.8" },
        { UFFD_FEATURE_RWP, false, "UFFD_FEATURE_RWP", "Linux 7.3" },
        { UFFD_FEATURE_RWP_ASYNC, false, "UFFD_FEATURE_RWP_ASYNC", "Linux 7.3" },
        { UFFD_API_IOCTL_SET_MODE_BIT, true, "UFFDIO_SET_MODE", "Linux 7.3" },
};

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

static void print_fact(FILE *f, const char *what, bool ok, int err, const char *why) {
        if (ok)
                fprintf(f, "%-30s yes\n", what);
        else if (why)
                fprintf(f, "%-30s no (%s)\n", what, why);
        else
                fprintf(f, "%-30s no (%s)\n", what, strerror(err));
}

int probe_print_text(FILE *f, const ProbeInput *in, const ProbeResult *res) {
        char buf[FORMAT_BYTES_MAX];

        if (!f || !in || !res)
                return -EINVAL;

        fprintf(f, "%-30s %s\n", "Backend:", backend_to_string(res->backend));
        for (Backend b = _BACKEND_MAX - 1; b > BACKEND_NONE; b--) {
                char label[32];

                snprintf(label, sizeof label, "  %s:", backend_to_string(b));
                print_fact(f, label, res->available[b], 0, res->reason[b]);
        }

        if (in->uffd_available)
                fprintf(f, "%-30s yes, via %s%s\n", "userfaultfd:",
                        in->uffd_source == UFFD_SOURCE_DEV ? "/dev/userfaultfd" : "userfaultfd(2)",
                        in->uffd_user_mode_only ? " (UFFD_USER_MODE_ONLY)" : "");
        else
                fprintf(f, "%-30s no (%s)\n", "userfaultfd:", strerror(in->uffd_errno));
        if (in->unprivileged_userfaultfd >= 0)
                fprintf(f, "%-30s %d\n",
                        "vm.unprivileged_userfaultfd:", in->unprivileged_userfaultfd);
        if (in->uffd_available) {
                fprintf(f, "%-30s 0x%" PRIx64, "Features offered:", in->features_offered);
                for (unsigned i = 0; i < 64; i++) {
                        uint64_t bit = UINT64_C(1) << i;
                        const char *name = probe_feature_to_string(bit);

                        if (!(in->features_offered & bit))
                                continue;
                        if (name)
                                fprintf(f, " %s", name);
                        else
                                fprintf(f, " bit_%u", i);
                }
                fputc('\n', f);
                fprintf(f, "%-30s 0x%" PRIx64 "\n", "API ioctls:", in->api_ioctls);
                for (size_t i = 0; i < ELEMENTSOF(key_features); i++) {
                        uint64_t mask = key_features[i].ioctl ? in->api_ioctls
                                                              : in->features_offered;
                        char label[64], why[64];

                        snprintf(label, sizeof label, "  %s:", key_features[i].name);
                        snprintf(why, sizeof why, "needs %s", key_features[i].since);
                        print_fact(f, label, mask & key_features[i].bit, 0, why);
                }
        }
        print_fact(f, "PAGEMAP_SCAN:", in->pagemap_scan, in->pagemap_scan_errno, NULL);
        if (in->swap_known)
                fprintf(f, "%-30s %s\n", "Swap:",
                        in->swap_bytes == 0 ? "none"
                                            : format_bytes(buf, sizeof buf, in->swap_bytes));
        else
                fprintf(f, "%-30s unknown\n", "Swap:");
        if (in->swap_setup_known) {
                char text[SWAP_SETUP_DESCRIBE_MAX];

                swap_setup_describe(&in->swap_setup, text, sizeof text);
                fprintf(f, "%-30s %s\n", "Swap set-up:", text);
                if (swap_setup_has_swap(&in->swap_setup))
                        fprintf(f, "%-30s %s\n", "Page-out frees memory:",
                                swap_setup_pageout_frees_at_once(&in->swap_setup)
                                        ? "yes, at once"
                                        : "no: written pages stay in the swap cache");
        }
        fprintf(f, "%-30s %s\n", "PSI (memory):", yes_no(in->psi));
        print_fact(f, "process_madvise(MADV_PAGEOUT):", in->process_madvise,
                   in->process_madvise_errno, NULL);
        print_fact(f, "SO_PEERPIDFD:", in->so_peerpidfd, in->so_peerpidfd_errno, NULL);
        fprintf(f, "%-30s %s\n", "CAP_SYS_PTRACE:", yes_no(in->cap_sys_ptrace));
        fprintf(f, "%-30s %s\n", "CAP_SYS_NICE:", yes_no(in->cap_sys_nice));

        fprintf(f, "Cannot see:\n");
        for (size_t i = 0; i < res->n_cannot_see; i++)
                fprintf(f, "  - %s\n", res->cannot_see[i]);
        if (res->n_warnings > 0) {
                fprintf(f, "Warnings:\n");
                for (size_t i = 0; i < res->n_warnings; i++)
                        fprintf(f, "  - %s\n", res->warnings[i]);
        }

        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}
