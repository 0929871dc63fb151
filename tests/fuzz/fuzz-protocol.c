/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the handoff protocol decoder. Properties checked on every input:
 *  - decoding never crashes, leaks or reads out of bounds (ASan), and fails only with one of the
 *    documented errors, always with a reason that fits into an error REPLY;
 *  - whatever decodes re-encodes (the encoder accepts everything the decoder produces), into no
 *    more bytes than the input (unknown attributes are dropped), and decodes again to an equal
 *    message, whose encoding is byte-identical: the canonical form is a fixed point;
 *  - any byte string, used as error text, is sanitised into a valid REPLY. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(e)                                                                              \
        do {                                                                                  \
                if (!(e)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
                        abort();                                                              \
                }                                                                             \
        } while (0)

static uint8_t buf1[PROTO_MESSAGE_MAX_BYTES], buf2[PROTO_MESSAGE_MAX_BYTES];

static void check_error_reply(int error, const char *reason) {
        _cleanup_proto_message_ ProtoMessage reply = {};
        size_t len;

        CHECK(reason[0] != 0);
        CHECK(proto_encode_reply(7, error, reason, buf1, sizeof buf1, &len) == 0);
        CHECK(proto_decode(buf1, len, NULL, 0, &reply) == 0);
        CHECK(reply.error == error);
}

static void check_sanitizer(const uint8_t *data, size_t size) {
        _cleanup_proto_message_ ProtoMessage m = {};
        _cleanup_free_ char *text = malloc(size + 1);

        CHECK(text);
        memcpy(text, data, size);
        text[size] = 0;
        proto_message_init(&m, PROTO_REPLY, 1);
        CHECK(proto_message_set_error(&m, EIO, text) == 0);
        CHECK(proto_message_validate(&m, NULL, 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_proto_message_ ProtoMessage a = {}, b = {};
        char reason[PROTO_REASON_MAX_BYTES] = "";
        size_t l1, l2;
        ProtoHeader h;
        int r;

        (void) proto_peek_header(data, size, &h);

        r = proto_decode(data, size, reason, sizeof reason, &a);
        if (r < 0) {
                CHECK(r == -EBADMSG || r == -EPROTO || r == -EPROTONOSUPPORT || r == -EMSGSIZE ||
                      r == -E2BIG || r == -ENOMEM);
                if (r != -ENOMEM)
                        check_error_reply(-r, reason);
                if (size <= 4 * PROTO_TEXT_MAX_BYTES)
                        check_sanitizer(data, size);
                return 0;
        }

        CHECK(proto_message_validate(&a, NULL, 0) == 0);
        CHECK(proto_encode(&a, buf1, sizeof buf1, &l1) == 0);
        CHECK(l1 == proto_message_encoded_size(&a));
        CHECK(l1 <= size);
        CHECK(proto_decode(buf1, l1, reason, sizeof reason, &b) == 0);
        CHECK(proto_message_equal(&a, &b));
        CHECK(proto_encode(&b, buf2, sizeof buf2, &l2) == 0);
        CHECK(l1 == l2);
        CHECK(memcmp(buf1, buf2, l1) == 0);
        return 0;
}
