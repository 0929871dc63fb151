/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Output of `uffdtierd --probe [--json]`: probe_print_text() in probe-text.c, the JSON in
 * probe-json.c. This header does not include <jansson.h>: json_t is declared incomplete here, so
 * only the callers of probe_to_json() need jansson. */

#include <stdio.h>

#include "probe.h"

/* jansson's own spelling (struct json_t), repeated: a compatible typedef redeclaration (C11). */
typedef struct json_t json_t;

/* Both return -EIO when writing fails, -ENOMEM when building the JSON does. */
int probe_print_text(FILE *f, const ProbeInput *in, const ProbeResult *res);
int probe_print_json(FILE *f, const ProbeInput *in, const ProbeResult *res);
/* The JSON document probe_print_json() prints, for the bus and tests; the caller owns it
 * (json_decref()). */
int probe_to_json(const ProbeInput *in, const ProbeResult *res, json_t **ret);
