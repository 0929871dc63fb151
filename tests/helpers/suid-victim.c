/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* suid-victim: the program an unprivileged attacker starts setuid-root in test-authority.sh (the
 * test copies it, chowns it root:root and sets mode 4755). No libraries but libc.
 *
 *   suid-victim map ADDR LEN   map LEN bytes at ADDR (MAP_FIXED_NOREPLACE: where the attacker's
 *                              tracked memory was before it exec'd this), fill them, print
 *                              "OK victim pid=<pid> euid=<euid> addr=0x.. len=..", then wait
 *                              for a line on stdin and check: none of its pages may have left
 *                              RAM (its own /proc/self/pagemap: present, not swapped; VmSwap 0)
 *                              and every byte must be intact. Prints "OK victim resident ..."
 *                              and exits 0, or "ERR EIO victim ..." and exits 1.
 *   suid-victim sleep          print "OK victim pid=<pid> euid=<euid>", then wait until stdin
 *                              ends.
 * Output lines follow tier-client's convention, so the test reads them the same way. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t word(uint64_t i) {
        uint64_t x = i * 0x9e3779b97f4a7c15ULL + 0x5eed;
        x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ULL;
        return x ^ (x >> 29);
}

static long vm_swap_kib(void) {
        char line[256];
        long kib = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmSwap: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static int do_map(uint64_t addr, uint64_t len) {
        size_t ps = (size_t) sysconf(_SC_PAGESIZE), n_pages = len / ps, present = 0, swapped = 0;
        uint64_t *ents, *p, bad = UINT64_MAX;
        char line[64];
        long swap_kib;
        int fd;

        p = mmap((void *) (uintptr_t) addr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED || (uintptr_t) p != addr) {
                printf("ERR %s victim: cannot map 0x%" PRIx64 "+%" PRIu64 ": %s\n",
                       errno == EEXIST ? "EEXIST" : "ENOMEM", addr, len, strerror(errno));
                return 1;
        }
        for (uint64_t i = 0; i < len / 8; i++)
                p[i] = word(i);
        printf("OK victim pid=%d euid=%d addr=0x%" PRIx64 " len=%" PRIu64 "\n", (int) getpid(),
               (int) geteuid(), addr, len);
        fflush(stdout);

        if (!fgets(line, sizeof line, stdin))
                return 1;

        /* first where the pages are (reading them would bring evicted ones back) */
        ents = calloc(n_pages, sizeof *ents);
        fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (!ents || fd < 0 ||
            pread(fd, ents, n_pages * sizeof *ents, (off_t) (addr / ps * sizeof *ents)) !=
                    (ssize_t) (n_pages * sizeof *ents)) {
                printf("ERR EIO victim: cannot read its own pagemap: %s\n", strerror(errno));
                return 1;
        }
        for (size_t i = 0; i < n_pages; i++) {
                present += !!(ents[i] & (1ULL << 63));
                swapped += !!(ents[i] & (1ULL << 62));
        }
        swap_kib = vm_swap_kib();
        for (uint64_t i = 0; i < len / 8 && bad == UINT64_MAX; i++)
                if (p[i] != word(i))
                        bad = i * 8;
        if (present != n_pages || swapped != 0 || swap_kib != 0 || bad != UINT64_MAX) {
                printf("ERR EIO victim pid=%d: paged out: %zu of %zu pages not resident, %zu in swap, VmSwap %ld kB, %s\n",
                       (int) getpid(), n_pages - present, n_pages, swapped, swap_kib,
                       bad == UINT64_MAX ? "bytes intact" : "bytes corrupted");
                return 1;
        }
        printf("OK victim resident %zu of %zu pages, VmSwap %ld kB, bytes intact\n", present,
               n_pages, swap_kib);
        return 0;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 4 && strcmp(argv[1], "map") == 0)
                return do_map(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
        if (argc == 2 && strcmp(argv[1], "sleep") == 0) {
                char b[64];
                printf("OK victim pid=%d euid=%d\n", (int) getpid(), (int) geteuid());
                while (read(STDIN_FILENO, b, sizeof b) > 0)
                        ;
                return 0;
        }
        fprintf(stderr, "usage: suid-victim map ADDR LEN | suid-victim sleep\n");
        return 2;
}
