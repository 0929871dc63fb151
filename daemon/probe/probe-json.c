/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `uffdtierd --probe --json`: the facts and the decision as one JSON object. The only file of the
 * probe that includes <jansson.h>, and where jansson's NULL/-1 failures become -ENOMEM. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "probe-print.h"

/* JSON keys differ from the names only by being snake_case. */
static const char *const backend_json_key[_BACKEND_MAX] = {
        [BACKEND_NONE] = "none",
        [BACKEND_WP_ASYNC] = "wp_async",
        [BACKEND_RWP] = "rwp",
};

/* jansson reports allocation failure as a NULL value or a -1 return, and the *_new setters
 * release the value even when they fail. This is the one place that becomes -ENOMEM. */
static int json_put(json_t *container, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        if (key)
                return json_object_set_new(container, key, v) < 0 ? -ENOMEM : 0;
        return json_array_append_new(container, v) < 0 ? -ENOMEM : 0;
}

static json_t *json_hex(uint64_t v) {
        char buf[2 + 16 + 1];

        snprintf(buf, sizeof buf, "0x%" PRIx64, v);
        return json_string(buf);
}

static json_t *json_string_or_null(const char *s) {
        return s && *s ? json_string(s) : json_null();
}

/* Adds v to obj and hands it back borrowed (obj owns it), for filling containers in place. */
static int json_put_borrow(json_t *obj, const char *key, json_t *v, json_t **ret) {
        int r;

        r = json_put(obj, key, v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static int json_put_features(json_t *obj, uint64_t features) {
        json_t *o, *names;
        int r;

        r = json_put_borrow(obj, "features_offered", json_object(), &o);
        if (r < 0)
                return r;
        r = json_put(o, "mask", json_hex(features));
        if (r < 0)
                return r;
        r = json_put_borrow(o, "names", json_array(), &names);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 64; i++) {
                uint64_t bit = UINT64_C(1) << i;
                const char *name = probe_feature_to_string(bit);
                char unknown[16];

                if (!(features & bit))
                        continue;
                if (!name) {
                        snprintf(unknown, sizeof unknown, "bit_%u", i);
                        name = unknown;
                }
                r = json_put(names, NULL, json_string(name));
                if (r < 0)
                        return r;
        }
        return 0;
}

int probe_to_json(const ProbeInput *in, const ProbeResult *res, json_t **ret) {
        json_auto_t *root = NULL;
        json_t *caps, *a;
        int r;

        if (!in || !res || !ret)
                return -EINVAL;

        root = json_object();
        if (!root)
                return -ENOMEM;
        r = json_put(root, "backend", json_string(backend_to_string(res->backend)));
        if (r < 0)
                return r;
        for (Backend b = _BACKEND_MAX - 1; b > BACKEND_NONE; b--) {
                json_t *o;

                r = json_put_borrow(root, backend_json_key[b], json_object(), &o);
                if (r < 0)
                        return r;
                r = json_put(o, "available", json_boolean(res->available[b]));
                if (r < 0)
                        return r;
                r = json_put(o, "reason", json_string_or_null(res->reason[b]));
                if (r < 0)
                        return r;
        }
        r = json_put(root, "uffd_source", json_string(uffd_source_to_string(in->uffd_source)));
        if (r < 0)
                return r;
        r = json_put(root, "uffd_error",
                     in->uffd_available ? json_null() : json_string(strerror(in->uffd_errno)));
        if (r < 0)
                return r;
        r = json_put(root, "uffd_user_mode_only", json_boolean(in->uffd_user_mode_only));
        if (r < 0)
                return r;
        r = json_put(root, "unprivileged_userfaultfd",
                     in->unprivileged_userfaultfd >= 0 ? json_integer(in->unprivileged_userfaultfd)
                                                       : json_null());
        if (r < 0)
                return r;
        r = json_put_features(root, in->features_offered);
        if (r < 0)
                return r;
        r = json_put(root, "api_ioctls", json_hex(in->api_ioctls));
        if (r < 0)
                return r;
        r = json_put(root, "pagemap_scan", json_boolean(in->pagemap_scan));
        if (r < 0)
                return r;
        /* json_int_t is signed 64-bit; no swap comes near 2^63 bytes. */
        r = json_put(root, "swap_bytes",
                     in->swap_known
                             ? json_integer((json_int_t) MIN(in->swap_bytes, (uint64_t) INT64_MAX))
                             : json_null());
        if (r < 0)
                return r;
        if (in->swap_setup_known) {
                char text[SWAP_SETUP_DESCRIBE_MAX];
                json_t *o = json_object();

                swap_setup_describe(&in->swap_setup, text, sizeof text);
                r = o ? 0 : -ENOMEM;
                if (r >= 0)
                        r = json_put(o, "description", json_string(text));
                if (r >= 0)
                        r = json_put(o, "zswap_enabled",
                                     json_boolean(in->swap_setup.zswap_enabled));
                if (r >= 0)
                        r = json_put(
                                o, "pageout_frees_at_once",
                                json_boolean(swap_setup_pageout_frees_at_once(&in->swap_setup)));
                if (r >= 0)
                        r = json_put(o, "remedy",
                                     json_string(swap_setup_remedy(&in->swap_setup) ?: ""));
                if (r < 0) {
                        json_decref(o);
                        return r;
                }
                r = json_put(root, "swap_setup", o);
                if (r < 0)
                        return r;
        }
        r = json_put(root, "psi", json_boolean(in->psi));
        if (r < 0)
                return r;
        r = json_put(root, "process_madvise", json_boolean(in->process_madvise));
        if (r < 0)
                return r;
        r = json_put(root, "so_peerpidfd", json_boolean(in->so_peerpidfd));
        if (r < 0)
                return r;

        r = json_put_borrow(root, "capabilities", json_object(), &caps);
        if (r < 0)
                return r;
        r = json_put(caps, "cap_sys_ptrace", json_boolean(in->cap_sys_ptrace));
        if (r < 0)
                return r;
        r = json_put(caps, "cap_sys_nice", json_boolean(in->cap_sys_nice));
        if (r < 0)
                return r;

        r = json_put_borrow(root, "cannot_see", json_array(), &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_cannot_see; i++) {
                r = json_put(a, NULL, json_string(res->cannot_see[i]));
                if (r < 0)
                        return r;
        }
        r = json_put_borrow(root, "warnings", json_array(), &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_warnings; i++) {
                r = json_put(a, NULL, json_string(res->warnings[i]));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(root);
        return 0;
}

int probe_print_json(FILE *f, const ProbeInput *in, const ProbeResult *res) {
        json_auto_t *root = NULL;
        int r;

        if (!f)
                return -EINVAL;
        r = probe_to_json(in, res, &root);
        if (r < 0)
                return r;
        if (json_dumpf(root, f, JSON_INDENT(2)) < 0)
                return -EIO;
        fputc('\n', f);
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}
