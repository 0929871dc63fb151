/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol-io.h"
#include "protocol.h"
#include "test.h"

/* A hand-rolled packet, to build what the encoder refuses to produce. */
typedef struct Raw {
        uint8_t b[PROTO_MESSAGE_MAX_BYTES + 4096];
        size_t n;
} Raw;

static void raw_header(Raw *r, uint32_t magic, uint16_t version, uint16_t type, uint32_t seq) {
        memset(r->b, 0, PROTO_HEADER_BYTES);
        memcpy(r->b + 0, &magic, 4);
        memcpy(r->b + 4, &version, 2);
        memcpy(r->b + 6, &type, 2);
        memcpy(r->b + 8, &seq, 4);
        r->n = PROTO_HEADER_BYTES;
}

static void raw_attr(Raw *r, uint16_t type, const void *v, size_t len) {
        uint16_t l = (uint16_t) len;
        size_t total = ALIGN_UP(4 + len, (size_t) 8);

        memcpy(r->b + r->n, &type, 2);
        memcpy(r->b + r->n + 2, &l, 2);
        memset(r->b + r->n + 4, 0, total - 4);
        if (len)
                memcpy(r->b + r->n + 4, v, len);
        r->n += total;
}

static void raw_str(Raw *r, uint16_t type, const char *s) {
        raw_attr(r, type, s, strlen(s));
}

static void raw_u32(Raw *r, uint16_t type, uint32_t v) {
        raw_attr(r, type, &v, sizeof v);
}

static void raw_range(Raw *r, uint64_t start, uint64_t len) {
        uint64_t v[2] = { start, len };
        raw_attr(r, PROTO_ATTR_RANGE, v, sizeof v);
}

/* Sets payload_len from what was written. */
static void raw_finish(Raw *r) {
        uint32_t pl = (uint32_t) (r->n - PROTO_HEADER_BYTES);
        memcpy(r->b + 12, &pl, 4);
}

static void raw_start(Raw *r, uint16_t type) {
        raw_header(r, PROTO_MAGIC, PROTO_VERSION, type, 42);
}

/* Decoding must fail with error, and leave a reason containing needle. */
static void expect_decode_error(const Raw *r, int error, const char *needle, int line) {
        char reason[PROTO_REASON_MAX_BYTES] = "";
        ProtoMessage m = { .seq = 12345 };
        int k = proto_decode(r->b, r->n, reason, sizeof reason, &m);

        if (k != -error)
                test_fail(__FILE__, line, "decode: expected %d, got %d (%s)", -error, k, reason);
        if (needle && !strstr(reason, needle))
                test_fail(__FILE__, line, "reason \"%s\" lacks \"%s\"", reason, needle);
        if (m.seq != 12345)
                test_fail(__FILE__, line, "*ret written on failure");
}
#define EXPECT_DECODE_ERROR(r, e, needle) expect_decode_error((r), (e), (needle), __LINE__)

static void decode_ok(const Raw *r, ProtoMessage *ret) {
        char reason[PROTO_REASON_MAX_BYTES] = "";
        int k = proto_decode(r->b, r->n, reason, sizeof reason, ret);
        if (k < 0)
                test_fail(__FILE__, __LINE__, "decode failed: %s (%s)", strerror(-k), reason);
}

/* Encode, decode, compare; encode the result again and compare the bytes. */
static void round_trip(const ProtoMessage *m) {
        _cleanup_proto_message_ ProtoMessage d = {};
        static uint8_t buf1[PROTO_MESSAGE_MAX_BYTES], buf2[PROTO_MESSAGE_MAX_BYTES];
        char reason[PROTO_REASON_MAX_BYTES] = "";
        size_t l1, l2;

        ASSERT_OK(proto_encode(m, buf1, sizeof buf1, &l1));
        ASSERT_EQ(l1, proto_message_encoded_size(m));
        ASSERT_EQ(l1 % 8, 0);
        if (proto_decode(buf1, l1, reason, sizeof reason, &d) < 0)
                test_fail(__FILE__, __LINE__, "decode: %s", reason);
        ASSERT_TRUE(proto_message_equal(m, &d));
        ASSERT_OK(proto_encode(&d, buf2, sizeof buf2, &l2));
        ASSERT_EQ(l1, l2);
        ASSERT_TRUE(memcmp(buf1, buf2, l1) == 0);
}

TEST(round_trip_hello) {
        _cleanup_proto_message_ ProtoMessage m = {};

        proto_message_init(&m, PROTO_HELLO, 1);
        round_trip(&m);
        m.flags = PROTO_HELLO_USER_MODE_ONLY;
        ASSERT_OK(proto_message_set_name(&m, "postgres-wal"));
        round_trip(&m);
        ASSERT_OK(proto_message_set_name(&m, "ünïcødé ✓ 𝄞"));
        round_trip(&m);
}

TEST(round_trip_track) {
        _cleanup_proto_message_ ProtoMessage m = {};

        proto_message_init(&m, PROTO_TRACK, 0xffffffff);
        ASSERT_OK(proto_message_add_range(&m, 0x7f0000000000, 64 << 20));
        round_trip(&m);
        ASSERT_OK(proto_message_add_range(&m, 0x1000, 0x1000));
        /* The end (exclusive) must be representable: the last page below 2^64 is out of reach. */
        ASSERT_ERROR(proto_message_add_range(&m, UINT64_MAX - 0xfff, 0x1000), EINVAL);
        ASSERT_OK(proto_message_add_range(&m, UINT64_MAX - 0x1fff, 0x1000));
        ASSERT_OK(proto_message_set_name(&m, "heap"));
        ASSERT_OK(proto_message_add_label(&m, "tier=cold"));
        ASSERT_OK(proto_message_add_label(&m, "owner="));
        ASSERT_OK(proto_message_add_label(&m, "a=b=c"));
        round_trip(&m);
        ASSERT_EQ(m.n_ranges, 3);
        ASSERT_EQ(m.n_labels, 3);
}

TEST(round_trip_track_limits) {
        _cleanup_proto_message_ ProtoMessage m = {};
        char label[PROTO_LABEL_MAX_BYTES + 1];
        char name[PROTO_NAME_MAX_BYTES + 1];

        proto_message_init(&m, PROTO_TRACK, 7);
        for (unsigned i = 0; i < PROTO_RANGES_MAX; i++)
                ASSERT_OK(proto_message_add_range(&m, (uint64_t) i << 20, 4096));
        ASSERT_ERROR(proto_message_add_range(&m, 1ULL << 40, 4096), E2BIG);
        memset(name, 'n', PROTO_NAME_MAX_BYTES);
        name[PROTO_NAME_MAX_BYTES] = 0;
        ASSERT_OK(proto_message_set_name(&m, name));
        for (unsigned i = 0; i < PROTO_LABELS_MAX; i++) {
                memset(label, 'v', sizeof label - 1);
                label[sizeof label - 1] = 0;
                snprintf(label, 16, "key%u=", i);
                label[strlen(label)] = 'v';
                ASSERT_EQ(strlen(label), PROTO_LABEL_MAX_BYTES);
                ASSERT_OK(proto_message_add_label(&m, label));
        }
        ASSERT_ERROR(proto_message_add_label(&m, "one=too-many"), E2BIG);
        /* 1024 ranges + 32 maximal labels still fit in one packet. */
        ASSERT_CMP(proto_message_encoded_size(&m), <=, PROTO_MESSAGE_MAX_BYTES);
        round_trip(&m);
}

TEST(round_trip_untrack_status_bye) {
        _cleanup_proto_message_ ProtoMessage u = {}, s = {}, b = {};

        proto_message_init(&u, PROTO_UNTRACK, 3);
        ASSERT_OK(proto_message_add_range(&u, 0x2000, 0x3000));
        ASSERT_OK(proto_message_add_range(&u, 0x8000, 0x1000));
        round_trip(&u);
        proto_message_init(&s, PROTO_STATUS, 4);
        round_trip(&s);
        proto_message_init(&b, PROTO_BYE, 5);
        round_trip(&b);

        uint8_t buf[64];
        size_t l;
        ASSERT_OK(proto_encode(&s, buf, sizeof buf, &l));
        ASSERT_EQ(l, PROTO_HEADER_BYTES);
}

TEST(round_trip_follow) {
        _cleanup_proto_message_ ProtoMessage m = {}, t = {};
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t l;

        proto_message_init(&m, PROTO_FOLLOW, 6);
        round_trip(&m); /* MIN_BYTES 0 is sent too: it is mandatory */
        m.min_bytes = UINT64_C(1) << 20;
        round_trip(&m);
        ASSERT_OK(proto_message_set_name(&m, "redis"));
        ASSERT_OK(proto_message_add_label(&m, "tier=bulk"));
        round_trip(&m);
        ASSERT_TRUE(proto_type_is_request(PROTO_FOLLOW));
        ASSERT_STREQ(proto_type_to_string(PROTO_FOLLOW), "FOLLOW");

        /* MIN_BYTES belongs to FOLLOW alone, and FOLLOW carries no RANGE */
        proto_message_init(&t, PROTO_TRACK, 7);
        ASSERT_OK(proto_message_add_range(&t, 0x1000, 0x1000));
        t.min_bytes = 4096;
        ASSERT_ERROR(proto_encode(&t, buf, sizeof buf, &l), EINVAL);
        ASSERT_OK(proto_message_add_range(&m, 0x1000, 0x1000)); /* the builder does not know */
        ASSERT_ERROR(proto_encode(&m, buf, sizeof buf, &l), EINVAL);
}

TEST(round_trip_reply) {
        _cleanup_proto_message_ ProtoMessage m = {}, e = {}, ok_text = {};

        proto_message_init(&m, PROTO_REPLY, 9);
        round_trip(&m);
        ASSERT_OK(proto_message_set_backend(&m, "wp-async"));
        ASSERT_OK(proto_message_add_counter(&m, "tracked_bytes", 64 << 20));
        ASSERT_OK(proto_message_add_counter(&m, "evicted_pages", UINT64_MAX));
        ASSERT_ERROR(proto_message_add_counter(&m, "tracked_bytes", 1), EEXIST);
        ASSERT_OK(proto_message_add_range_info(&m, 0x7f0000000000, 1 << 20, "heap"));
        ASSERT_OK(proto_message_add_range_info(&m, 0x7f1000000000, 1 << 20, NULL));
        ASSERT_OK(proto_message_add_range_info(&m, 0x7f2000000000, 1 << 20, ""));
        ASSERT_TRUE(m.range_infos[2].name == NULL); /* "" means no name */
        round_trip(&m);

        proto_message_init(&e, PROTO_REPLY, 10);
        ASSERT_OK(proto_message_set_errorf(&e, -EINVAL, "range 0x%x is not page aligned", 0x1234));
        ASSERT_EQ(e.error, EINVAL);
        ASSERT_STREQ(e.message, "range 0x1234 is not page aligned");
        round_trip(&e);

        /* A success may carry a text too. */
        proto_message_init(&ok_text, PROTO_REPLY, 11);
        ASSERT_OK(proto_message_set_error(&ok_text, 0, "hello, pid 17"));
        round_trip(&ok_text);
}

TEST(reply_error_text_is_sanitized) {
        _cleanup_proto_message_ ProtoMessage m = {};
        char big[2000];

        proto_message_init(&m, PROTO_REPLY, 1);
        ASSERT_OK(proto_message_set_error(&m, ENOENT, NULL));
        ASSERT_STREQ(m.message, strerror(ENOENT));
        ASSERT_OK(proto_message_set_error(&m, ENOENT, "bad\nline\x01 \xff\xfe end"));
        ASSERT_STREQ(m.message, "bad?line? ?? end");
        round_trip(&m);

        /* 600 bytes of two-byte characters: cut at 512 bytes, on a character boundary. */
        memset(big, 0, sizeof big);
        for (size_t i = 0; i < 300; i++)
                memcpy(big + 2 * i, "é", 2);
        ASSERT_OK(proto_message_set_error(&m, EIO, big));
        ASSERT_EQ(strlen(m.message), PROTO_TEXT_MAX_BYTES);
        round_trip(&m);
        /* "a" + 300 "é": byte 512 would be the first half of a character, so stop at 511. */
        big[0] = 'a';
        for (size_t i = 0; i < 300; i++)
                memcpy(big + 1 + 2 * i, "é", 2);
        ASSERT_OK(proto_message_set_error(&m, EIO, big));
        ASSERT_EQ(strlen(m.message), PROTO_TEXT_MAX_BYTES - 1);
        round_trip(&m);

        ASSERT_ERROR(proto_message_set_error(&m, 5000, "x"), EINVAL);
}

TEST(encode_reply_one_shot) {
        _cleanup_proto_message_ ProtoMessage d = {};
        uint8_t buf[1024];
        size_t l;

        ASSERT_OK(proto_encode_reply(77, -EPERM, "denied by policy", buf, sizeof buf, &l));
        ASSERT_OK(proto_decode(buf, l, NULL, 0, &d));
        ASSERT_EQ(d.type, PROTO_REPLY);
        ASSERT_EQ(d.seq, 77);
        ASSERT_EQ(d.error, EPERM);
        ASSERT_STREQ(d.message, "denied by policy");
}

TEST(encode_errors) {
        _cleanup_proto_message_ ProtoMessage m = {}, big = {};
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        char name[PROTO_NAME_MAX_BYTES + 1];
        size_t l = 99;

        proto_message_init(&m, PROTO_TRACK, 1);
        ASSERT_ERROR(proto_encode(&m, buf, sizeof buf, &l), EINVAL); /* no RANGE */
        ASSERT_OK(proto_message_add_range(&m, 0, 4096));
        ASSERT_ERROR(proto_encode(&m, buf, 16, &l), ENOBUFS);
        ASSERT_EQ(l, 99);
        m.error = 5; /* a field TRACK does not define */
        ASSERT_ERROR(proto_encode(&m, buf, sizeof buf, &l), EINVAL);
        m.error = 0;
        m.version = 2;
        ASSERT_ERROR(proto_encode(&m, buf, sizeof buf, &l), EINVAL);
        m.version = PROTO_VERSION;
        m.type = 99;
        ASSERT_ERROR(proto_encode(&m, buf, sizeof buf, &l), EINVAL);

        /* 1024 range infos with maximal names do not fit in 64 KiB. */
        proto_message_init(&big, PROTO_REPLY, 1);
        memset(name, 'x', PROTO_NAME_MAX_BYTES);
        name[PROTO_NAME_MAX_BYTES] = 0;
        for (unsigned i = 0; i < PROTO_RANGE_INFOS_MAX; i++)
                ASSERT_OK(proto_message_add_range_info(&big, (uint64_t) i << 21, 4096, name));
        ASSERT_CMP(proto_message_encoded_size(&big), >, PROTO_MESSAGE_MAX_BYTES);
        ASSERT_ERROR(proto_encode(&big, buf, sizeof buf, &l), EMSGSIZE);
}

TEST(builder_errors) {
        _cleanup_proto_message_ ProtoMessage m = {};
        char long_name[PROTO_NAME_MAX_BYTES + 2];

        proto_message_init(&m, PROTO_TRACK, 1);
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        ASSERT_ERROR(proto_message_set_name(&m, long_name), EINVAL);
        ASSERT_ERROR(proto_message_set_name(&m, ""), EINVAL);
        ASSERT_ERROR(proto_message_set_name(&m, "tab\there"), EINVAL);
        ASSERT_ERROR(proto_message_set_name(&m, "\xc0\xaf"), EINVAL); /* overlong '/' */
        ASSERT_ERROR(proto_message_set_name(&m, "\xed\xa0\x80"), EINVAL); /* surrogate */
        ASSERT_ERROR(proto_message_set_name(&m, NULL), EINVAL);
        ASSERT_TRUE(m.name == NULL);
        ASSERT_ERROR(proto_message_add_range(&m, 0, 0), EINVAL);
        ASSERT_ERROR(proto_message_add_range(&m, UINT64_MAX - 10, 12), EINVAL);
        ASSERT_ERROR(proto_message_add_label(&m, "novalue"), EINVAL);
        ASSERT_ERROR(proto_message_add_label(&m, "=v"), EINVAL);
        ASSERT_OK(proto_message_add_label(&m, "k=1"));
        ASSERT_ERROR(proto_message_add_label(&m, "k=2"), EEXIST);
        ASSERT_OK(proto_message_add_label(&m, "kk=2"));
        ASSERT_EQ(m.n_labels, 2);
        ASSERT_OK(proto_check_label("x=y"));
        ASSERT_ERROR(proto_check_label(NULL), EINVAL);
        ASSERT_OK(proto_check_string("", 5, true));
        ASSERT_ERROR(proto_check_string("", 5, false), EINVAL);
        ASSERT_ERROR(proto_check_string("123456", 5, false), EINVAL);
}

TEST(decode_header_errors) {
        Raw r;

        raw_start(&r, PROTO_STATUS);
        raw_finish(&r);
        r.n = 10;
        EXPECT_DECODE_ERROR(&r, EBADMSG, "truncated header");
        r.n = 0;
        EXPECT_DECODE_ERROR(&r, EBADMSG, "truncated header");

        raw_header(&r, 0x12345678, PROTO_VERSION, PROTO_STATUS, 1);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "bad magic 0x12345678");

        raw_header(&r, PROTO_MAGIC, 2, PROTO_STATUS, 1);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTONOSUPPORT,
                            "version 2 is not supported, this side speaks version 1");
        raw_header(&r, PROTO_MAGIC, 0, PROTO_STATUS, 1);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTONOSUPPORT, "version 0");

        raw_start(&r, PROTO_STATUS);
        raw_finish(&r);
        r.n += 8; /* more bytes than payload_len says */
        EXPECT_DECODE_ERROR(&r, EBADMSG, "payload length 0 does not match the 8 bytes");
        raw_start(&r, PROTO_TRACK);
        raw_range(&r, 0, 4096);
        raw_finish(&r);
        r.n -= 8; /* fewer */
        EXPECT_DECODE_ERROR(&r, EBADMSG, "payload length 24");

        raw_start(&r, 0);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "unknown message type 0");
        raw_start(&r, 77);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "unknown message type 77");

        raw_start(&r, PROTO_STATUS);
        memset(r.b + r.n, 0, PROTO_MESSAGE_MAX_BYTES);
        r.n = PROTO_MESSAGE_MAX_BYTES + 1;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EMSGSIZE, "exceeds the limit of 65536");
}

TEST(peek_header) {
        ProtoHeader h = {};
        Raw r;

        raw_header(&r, PROTO_MAGIC, 9, PROTO_TRACK, 0xabcdef);
        raw_finish(&r);
        ASSERT_OK(proto_peek_header(r.b, r.n, &h));
        ASSERT_EQ(h.version, 9);
        ASSERT_EQ(h.seq, 0xabcdef);
        ASSERT_EQ(h.type, PROTO_TRACK);
        ASSERT_ERROR(proto_peek_header(r.b, 15, &h), EBADMSG);
        r.b[0] ^= 1;
        ASSERT_ERROR(proto_peek_header(r.b, r.n, &h), EBADMSG);
}

TEST(decode_attr_framing_errors) {
        Raw r;

        /* 4 payload bytes: an attribute header, no room for its padding. */
        raw_start(&r, PROTO_STATUS);
        memset(r.b + r.n, 0, 4);
        r.n += 4;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "overflows");

        /* 2 payload bytes: not even an attribute header. */
        raw_start(&r, PROTO_STATUS);
        memset(r.b + r.n, 0, 2);
        r.n += 2;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "truncated attribute header at offset 16");

        /* A length running past the end. */
        raw_start(&r, PROTO_HELLO);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0);
        r.b[PROTO_HEADER_BYTES + 2] = 200;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "length 200");
        r.b[PROTO_HEADER_BYTES + 2] = 0xff;
        r.b[PROTO_HEADER_BYTES + 3] = 0xff;
        EXPECT_DECODE_ERROR(&r, EBADMSG, "length 65535");

        /* Padding must be zero, also in attributes that are skipped. */
        raw_start(&r, PROTO_HELLO);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0);
        raw_str(&r, PROTO_ATTR_NAME, "x");
        r.b[r.n - 1] = 1;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "non-zero padding");
        raw_start(&r, PROTO_HELLO);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0);
        raw_str(&r, 999, "x");
        r.b[r.n - 1] = 1;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "non-zero padding");

        /* Fixed-size attributes of the wrong size. */
        raw_start(&r, PROTO_HELLO);
        raw_attr(&r, PROTO_ATTR_FLAGS, "\0\0\0\0\0", 5);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "FLAGS attribute at offset 16 has length 5, expected 4");
        raw_start(&r, PROTO_TRACK);
        raw_attr(&r, PROTO_ATTR_RANGE, "\1\0\0\0\0\0\0\0\1\0\0\0\0\0\0", 15);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "RANGE attribute at offset 16 has length 15");
        raw_start(&r, PROTO_REPLY);
        raw_attr(&r, PROTO_ATTR_ERROR, "", 0);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "ERROR attribute");
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 0);
        raw_attr(&r, PROTO_ATTR_COUNTER, "\1\0\0\0\0\0\0\0", 8);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "too short");
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 0);
        raw_attr(&r, PROTO_ATTR_RANGE_INFO, "\1\0\0\0\0\0\0\0", 8);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "too short");
}

TEST(decode_duplicates) {
        Raw r;

        raw_start(&r, PROTO_HELLO);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "duplicate FLAGS attribute at offset 24");

        raw_start(&r, PROTO_HELLO);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0);
        raw_str(&r, PROTO_ATTR_NAME, "a");
        raw_str(&r, PROTO_ATTR_NAME, "b");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "duplicate NAME");

        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 1);
        raw_str(&r, PROTO_ATTR_MESSAGE, "a");
        raw_str(&r, PROTO_ATTR_MESSAGE, "b");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "duplicate MESSAGE");

        raw_start(&r, PROTO_TRACK);
        raw_range(&r, 0x1000, 0x1000);
        raw_str(&r, PROTO_ATTR_LABEL, "k=a");
        raw_str(&r, PROTO_ATTR_LABEL, "k=b");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "appears twice");

        uint8_t c[16] = { 1 };
        memcpy(c + 8, "cnt", 3);
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 0);
        raw_attr(&r, PROTO_ATTR_COUNTER, c, 11);
        raw_attr(&r, PROTO_ATTR_COUNTER, c, 11);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "COUNTER \"cnt\" appears twice");

        /* RANGE may repeat, also the same range (what it means is for the daemon to say). */
        _cleanup_proto_message_ ProtoMessage m = {};
        raw_start(&r, PROTO_UNTRACK);
        raw_range(&r, 0x1000, 0x1000);
        raw_range(&r, 0x1000, 0x1000);
        raw_finish(&r);
        decode_ok(&r, &m);
        ASSERT_EQ(m.n_ranges, 2);
}

TEST(decode_bad_values) {
        Raw r;

        raw_start(&r, PROTO_TRACK);
        raw_range(&r, 0x1000, 0);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "has length 0");
        raw_start(&r, PROTO_TRACK);
        raw_range(&r, UINT64_MAX - 0xfff, 0x2000);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "wraps around");

        uint64_t ri[2] = { 0x1000, 0 };
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 0);
        raw_attr(&r, PROTO_ATTR_RANGE_INFO, ri, sizeof ri);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "has length 0");

        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, (uint32_t) -5);
        raw_str(&r, PROTO_ATTR_MESSAGE, "x");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "ERROR -5 is not 0 or a positive errno");
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 4096);
        raw_str(&r, PROTO_ATTR_MESSAGE, "x");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "ERROR 4096");

        raw_start(&r, PROTO_HELLO);
        raw_u32(&r, PROTO_ATTR_FLAGS, 0x6);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "unknown HELLO flags 0x6");
}

TEST(decode_bad_strings) {
        static const struct {
                const char *s;
                size_t len;
                const char *why;
        } bad[] = {
                { "", 0, "is empty" },
                { "a\0b", 3, "contains a NUL byte" },
                { "ab\0", 3, "contains a NUL byte" },
                { "a\nb", 3, "contains a control character" },
                { "a\x7f", 2, "contains a control character" },
                { "\xff", 1, "is not valid UTF-8" },
                { "\xc3", 1, "is not valid UTF-8" }, /* truncated sequence */
                { "\xe0\x80\xaf", 3, "is not valid UTF-8" }, /* overlong */
                { "\xf4\x90\x80\x80", 4, "is not valid UTF-8" }, /* above U+10FFFF */
                { "\xed\xbf\xbf", 3, "is not valid UTF-8" }, /* surrogate */
                { "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 65,
                  "is longer than 64 bytes" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Raw r;

                raw_start(&r, PROTO_HELLO);
                raw_u32(&r, PROTO_ATTR_FLAGS, 0);
                raw_attr(&r, PROTO_ATTR_NAME, bad[i].s, bad[i].len);
                raw_finish(&r);
                EXPECT_DECODE_ERROR(&r, EBADMSG, bad[i].why);
        }

        Raw r;
        raw_start(&r, PROTO_TRACK);
        raw_range(&r, 0x1000, 0x1000);
        raw_str(&r, PROTO_ATTR_LABEL, "nokey");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "has no '='");
        raw_start(&r, PROTO_TRACK);
        raw_range(&r, 0x1000, 0x1000);
        raw_str(&r, PROTO_ATTR_LABEL, "=v");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "empty key");

        /* A name of exactly the maximum is fine; a MESSAGE may be longer than a NAME. */
        _cleanup_proto_message_ ProtoMessage m = {};
        char msg[PROTO_TEXT_MAX_BYTES + 1];
        memset(msg, 'm', PROTO_TEXT_MAX_BYTES);
        msg[PROTO_TEXT_MAX_BYTES] = 0;
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, EIO);
        raw_str(&r, PROTO_ATTR_MESSAGE, msg);
        raw_finish(&r);
        decode_ok(&r, &m);
        ASSERT_EQ(strlen(m.message), PROTO_TEXT_MAX_BYTES);
        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, EIO);
        raw_attr(&r, PROTO_ATTR_MESSAGE, msg, PROTO_TEXT_MAX_BYTES);
        r.b[r.n - 8] = 'm'; /* turn padding into a 513th byte ... */
        r.b[PROTO_HEADER_BYTES + 8 + 2] = (PROTO_TEXT_MAX_BYTES + 1) & 0xff; /* ... and say so */
        r.b[PROTO_HEADER_BYTES + 8 + 3] = (PROTO_TEXT_MAX_BYTES + 1) >> 8;
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EBADMSG, "MESSAGE attribute at offset 24 is longer than 512 bytes");
}

TEST(decode_missing_mandatory) {
        Raw r;

        raw_start(&r, PROTO_HELLO);
        raw_str(&r, PROTO_ATTR_NAME, "x");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "HELLO without FLAGS");

        raw_start(&r, PROTO_TRACK);
        raw_str(&r, PROTO_ATTR_NAME, "x");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "TRACK without a RANGE");

        raw_start(&r, PROTO_UNTRACK);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "UNTRACK without a RANGE");

        raw_start(&r, PROTO_REPLY);
        raw_str(&r, PROTO_ATTR_MESSAGE, "x");
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "REPLY without ERROR");

        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, ENOENT);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, EPROTO, "has no MESSAGE");
}

TEST(decode_too_many) {
        Raw r;

        raw_start(&r, PROTO_TRACK);
        for (unsigned i = 0; i <= PROTO_RANGES_MAX; i++)
                raw_range(&r, (uint64_t) i << 12, 4096);
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, E2BIG, "more than 1024 RANGE");

        raw_start(&r, PROTO_TRACK);
        raw_range(&r, 0x1000, 0x1000);
        for (unsigned i = 0; i <= PROTO_LABELS_MAX; i++) {
                char l[32];
                snprintf(l, sizeof l, "k%u=v", i);
                raw_str(&r, PROTO_ATTR_LABEL, l);
        }
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, E2BIG, "more than 32 LABEL");

        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 0);
        for (unsigned i = 0; i <= PROTO_COUNTERS_MAX; i++) {
                uint8_t c[24] = {};
                int n = snprintf((char *) c + 8, 16, "c%u", i);
                raw_attr(&r, PROTO_ATTR_COUNTER, c, 8 + (size_t) n);
        }
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, E2BIG, "more than 256 COUNTER");

        raw_start(&r, PROTO_REPLY);
        raw_u32(&r, PROTO_ATTR_ERROR, 0);
        for (unsigned i = 0; i <= PROTO_RANGE_INFOS_MAX; i++) {
                uint64_t v[2] = { (uint64_t) i << 12, 4096 };
                raw_attr(&r, PROTO_ATTR_RANGE_INFO, v, sizeof v);
        }
        raw_finish(&r);
        EXPECT_DECODE_ERROR(&r, E2BIG, "more than 1024 RANGE_INFO");
}

TEST(decode_skips_unknown_attrs) {
        _cleanup_proto_message_ ProtoMessage m = {}, t = {};
        Raw r;

        raw_start(&r, PROTO_HELLO);
        raw_str(&r, 200, "from the future");
        raw_u32(&r, PROTO_ATTR_FLAGS, PROTO_HELLO_USER_MODE_ONLY);
        raw_attr(&r, 0xffff, NULL, 0);
        raw_str(&r, PROTO_ATTR_NAME, "client");
        raw_u32(&r, 31, 7);
        raw_u32(&r, 32, 7);
        raw_finish(&r);
        decode_ok(&r, &m);
        ASSERT_EQ(m.type, PROTO_HELLO);
        ASSERT_EQ(m.seq, 42);
        ASSERT_EQ(m.flags, PROTO_HELLO_USER_MODE_ONLY);
        ASSERT_STREQ(m.name, "client");

        /* Known attributes that TRACK does not define are skipped as well, even malformed ones. */
        raw_start(&r, PROTO_TRACK);
        raw_u32(&r, PROTO_ATTR_ERROR, (uint32_t) -1);
        raw_attr(&r, PROTO_ATTR_FLAGS, "x", 1);
        raw_range(&r, 0x10000, 0x2000);
        raw_finish(&r);
        decode_ok(&r, &t);
        ASSERT_EQ(t.error, 0);
        ASSERT_EQ(t.flags, 0);
        ASSERT_EQ(t.n_ranges, 1);
        ASSERT_U64_EQ(t.ranges[0].start, 0x10000);
        ASSERT_U64_EQ(t.ranges[0].len, 0x2000);
}

TEST(decode_reason_buffer_optional) {
        Raw r;
        ProtoMessage m;
        char tiny[8];

        raw_header(&r, 0, 1, 1, 1);
        raw_finish(&r);
        ASSERT_ERROR(proto_decode(r.b, r.n, NULL, 0, &m), EBADMSG);
        ASSERT_ERROR(proto_decode(r.b, r.n, tiny, sizeof tiny, &m), EBADMSG);
        ASSERT_EQ(strlen(tiny), sizeof tiny - 1);
}

TEST(type_names) {
        ASSERT_STREQ(proto_type_to_string(PROTO_HELLO), "HELLO");
        ASSERT_STREQ(proto_type_to_string(PROTO_REPLY), "REPLY");
        ASSERT_TRUE(proto_type_to_string(0) == NULL);
        ASSERT_TRUE(proto_type_to_string(1000) == NULL);
        ASSERT_TRUE(proto_type_is_request(PROTO_BYE));
        ASSERT_FALSE(proto_type_is_request(PROTO_REPLY));
        ASSERT_FALSE(proto_type_is_request(0));
}

/* ---- protocol-io over a real socketpair ---- */

static unsigned count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        ASSERT_TRUE(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void make_pair(int sv[2]) {
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
}

static bool fd_is_cloexec(int fd) {
        int f = fcntl(fd, F_GETFD);
        return f >= 0 && (f & FD_CLOEXEC);
}

TEST(io_fd_passing) {
        int sv[2], p[2], null_fd, fds[PROTO_HELLO_N_FDS], got[PROTO_FDS_MAX];
        uint8_t buf[PROTO_MESSAGE_MAX_BYTES + 1];
        _cleanup_proto_message_ ProtoMessage m = {}, d = {};
        size_t len, n_fds = 99, rlen;
        struct stat a, b;

        make_pair(sv);
        ASSERT_OK(pipe(p));
        null_fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
        ASSERT_OK(null_fd);
        fds[0] = p[0], fds[1] = p[1], fds[2] = null_fd;

        proto_message_init(&m, PROTO_HELLO, 1);
        ASSERT_OK(proto_message_set_name(&m, "io"));
        ASSERT_OK(proto_encode(&m, buf, sizeof buf, &len));
        ASSERT_OK(proto_send(sv[0], buf, len, fds, 3));

        memset(buf, 0, sizeof buf);
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, got, PROTO_FDS_MAX, &n_fds), 0);
        ASSERT_EQ(rlen, len);
        ASSERT_EQ(n_fds, 3);
        ASSERT_OK(proto_decode(buf, rlen, NULL, 0, &d));
        ASSERT_TRUE(proto_message_equal(&m, &d));
        for (size_t i = 0; i < 3; i++) {
                ASSERT_TRUE(fd_is_cloexec(got[i]));
                ASSERT_OK(fstat(got[i], &a));
                ASSERT_OK(fstat(fds[i], &b));
                ASSERT_EQ(a.st_ino, b.st_ino);
                ASSERT_EQ(a.st_dev, b.st_dev);
        }
        /* The passed pipe works. */
        ASSERT_EQ(write(got[1], "x", 1), 1);
        char c;
        ASSERT_EQ(read(p[0], &c, 1), 1);
        proto_close_fds(got, n_fds);
        ASSERT_EQ(got[0], -EBADF);
}

TEST(io_surplus_fds_closed) {
        int sv[2], fds[5], got[3];
        uint8_t buf[128];
        size_t rlen, n_fds;
        unsigned before;

        make_pair(sv);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                ASSERT_OK(fds[i]);
        }
        ASSERT_OK(proto_send(sv[0], "hello", 5, fds, ELEMENTSOF(fds)));
        proto_close_fds(fds, ELEMENTSOF(fds));

        before = count_open_fds();
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, got, 3, &n_fds), 2);
        ASSERT_EQ(rlen, 5);
        ASSERT_EQ(n_fds, 3);
        ASSERT_EQ(count_open_fds(), before + 3); /* the other 2 were closed */
        proto_close_fds(got, 3);
        ASSERT_EQ(count_open_fds(), before);

        /* Not interested in descriptors at all: all are closed. */
        for (size_t i = 0; i < 2; i++)
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_OK(proto_send(sv[0], "again", 5, fds, 2));
        proto_close_fds(fds, 2);
        before = count_open_fds();
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, NULL), 2);
        ASSERT_EQ(count_open_fds(), before);
}

/* Sends n descriptors of /dev/null with a raw sendmsg(): proto_send() refuses more than
 * PROTO_FDS_MAX. */
static void send_n_fds(int fd, size_t n) {
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 253)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) "fds", .iov_len = 3 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = CMSG_SPACE(sizeof(int) * n),
        };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        int fds[253];

        ASSERT_TRUE(n <= ELEMENTSOF(fds));
        for (size_t i = 0; i < n; i++) {
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                ASSERT_OK(fds[i]);
        }
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
        ASSERT_EQ(sendmsg(fd, &mh, 0), 3);
        proto_close_fds(fds, n);
}

TEST(io_too_many_fds) {
        /* More descriptors than PROTO_FDS_MAX: told apart from a packet too large, and every
         * descriptor closed, up to the kernel's SCM_MAX_FD (253). */
        static const size_t counts[] = { PROTO_FDS_MAX + 1, PROTO_FDS_MAX + 4, 253 };
        int sv[2], fds[1], got[PROTO_FDS_MAX];
        size_t rlen = 77, n_fds = 77;
        uint8_t buf[64];
        unsigned before;

        make_pair(sv);
        fds[0] = -EBADF;
        ASSERT_ERROR(proto_send(sv[0], "x", 1, fds, PROTO_FDS_MAX + 1), EINVAL);

        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                send_n_fds(sv[0], counts[i]);
                before = count_open_fds();
                ASSERT_ERROR(proto_recv(sv[1], buf, sizeof buf, &rlen, got, PROTO_FDS_MAX, &n_fds),
                             ETOOMANYREFS);
                ASSERT_EQ(rlen, 77);
                ASSERT_EQ(n_fds, 77);
                ASSERT_EQ(count_open_fds(), before);
        }

        /* Exactly PROTO_FDS_MAX is fine, with or without SO_PASSCRED's control message. */
        for (int creds = 0; creds < 2; creds++) {
                if (creds)
                        ASSERT_OK(proto_recv_creds_on(sv[1]));
                send_n_fds(sv[0], PROTO_FDS_MAX);
                ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, got, PROTO_FDS_MAX, &n_fds), 0);
                ASSERT_EQ(rlen, 3);
                ASSERT_EQ(n_fds, PROTO_FDS_MAX);
                proto_close_fds(got, n_fds);
        }
}

TEST(io_empty_packet) {
        int sv[2];
        uint8_t buf[64];
        size_t rlen = 9, n_fds = 9;

        /* Without SO_PASSCRED an empty packet cannot be told from end of file. */
        make_pair(sv);
        ASSERT_EQ(send(sv[0], "", 0, 0), 0);
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), 0);
        ASSERT_EQ(rlen, 0);
        safe_close(sv[0]);
        safe_close(sv[1]);

        /* With it, one sent before it was set included (the kernel adds credentials when the
         * packet is received), and one sent right before the peer shuts down. */
        make_pair(sv);
        ASSERT_EQ(send(sv[0], "", 0, 0), 0);
        ASSERT_OK(proto_recv_creds_on(sv[1]));
        rlen = 9, n_fds = 9;
        ASSERT_ERROR(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), EBADMSG);
        ASSERT_EQ(rlen, 9);
        ASSERT_EQ(n_fds, 9);
        ASSERT_OK(proto_send(sv[0], "next", 4, NULL, 0));
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), 0);
        ASSERT_EQ(rlen, 4);
        ASSERT_EQ(send(sv[0], "", 0, 0), 0);
        ASSERT_OK(shutdown(sv[0], SHUT_WR));
        ASSERT_ERROR(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), EBADMSG);
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), 0);
        ASSERT_EQ(rlen, 0);
        safe_close(sv[0]);
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), 0);
        ASSERT_EQ(rlen, 0);
}

TEST(io_trunc) {
        int sv[2], fd, got[3];
        uint8_t big[200] = {}, buf[100];
        size_t rlen, n_fds;
        unsigned before;

        make_pair(sv);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_OK(proto_send(sv[0], big, sizeof big, &fd, 1));
        safe_close(fd);
        ASSERT_OK(proto_send(sv[0], big, 50, NULL, 0));

        before = count_open_fds();
        ASSERT_ERROR(proto_recv(sv[1], buf, sizeof buf, &rlen, got, 3, &n_fds), EMSGSIZE);
        ASSERT_EQ(count_open_fds(), before);
        /* The truncated packet was consumed; the next one arrives intact. */
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, got, 3, &n_fds), 0);
        ASSERT_EQ(rlen, 50);
        ASSERT_EQ(n_fds, 0);
}

TEST(io_eof_and_eagain) {
        int sv[2];
        uint8_t buf[64];
        size_t rlen = 9, n_fds = 9;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        ASSERT_ERROR(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), EAGAIN);
        ASSERT_EQ(rlen, 9);
        ASSERT_ERROR(proto_send(sv[0], buf, 0, NULL, 0), EINVAL);
        safe_close(sv[0]);
        ASSERT_EQ(proto_recv(sv[1], buf, sizeof buf, &rlen, NULL, 0, &n_fds), 0);
        ASSERT_EQ(rlen, 0);
        ASSERT_EQ(n_fds, 0);
        /* Sending to a closed peer: EPIPE, not SIGPIPE. */
        ASSERT_ERROR(proto_send(sv[1], "x", 1, NULL, 0), EPIPE);
}
