/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "log.h"

int main(int argc, char **argv) {
        log_set_ident("uffdtierd");
        log_info("uffdtierd placeholder");
        return 0;
}
