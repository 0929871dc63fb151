/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the seed corpus for fuzz-protocol: valid messages of every type (built with the
 * protocol module's own builders) and broken ones (built by hand). Run it to refresh
 * tests/fuzz/corpus/: `generate-corpus tests/fuzz/corpus`. Files crashers were saved under
 * (crash-*, found by the fuzzer) are not touched. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"

static const char *out_dir;
static unsigned n_written;

static void write_file(const char *name, const void *data, size_t size) {
        char path[4096];
        int fd;

        snprintf(path, sizeof path, "%s/%s", out_dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size) {
                fprintf(stderr, "%s: %m\n", path);
                exit(EXIT_FAILURE);
        }
        close(fd);
        n_written++;
}

static uint8_t buf[PROTO_MESSAGE_MAX_BYTES + 4096];

static size_t encode(const ProtoMessage *m) {
        size_t len;
        int r = proto_encode(m, buf, sizeof buf, &len);

        if (r < 0) {
                fprintf(stderr, "encoding %s: %s\n", proto_type_to_string(m->type), strerror(-r));
                exit(EXIT_FAILURE);
        }
        return len;
}

static void emit(const char *name, const ProtoMessage *m) {
        write_file(name, buf, encode(m));
}

#define MUST(e)                                                                        \
        do {                                                                           \
                if ((e) < 0) {                                                         \
                        fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #e); \
                        exit(EXIT_FAILURE);                                            \
                }                                                                      \
        } while (0)

static void set_u16(size_t off, uint16_t v) {
        memcpy(buf + off, &v, 2);
}
static void set_u32(size_t off, uint32_t v) {
        memcpy(buf + off, &v, 4);
}

static void valid(void) {
        _cleanup_proto_message_ ProtoMessage hello = {}, hello2 = {}, track = {}, track_big = {},
                                             untrack = {}, status = {}, bye = {}, ok = {}, err = {},
                                             st = {};

        proto_message_init(&hello, PROTO_HELLO, 1);
        emit("valid-hello-minimal", &hello);
        proto_message_init(&hello2, PROTO_HELLO, 1);
        hello2.flags = PROTO_HELLO_USER_MODE_ONLY;
        MUST(proto_message_set_name(&hello2, "postgres"));
        emit("valid-hello-named-user-mode-only", &hello2);

        proto_message_init(&track, PROTO_TRACK, 2);
        MUST(proto_message_add_range(&track, 0x7f0000000000, 64 << 20));
        emit("valid-track-one-range", &track);
        MUST(proto_message_set_name(&track, "heap ✓"));
        MUST(proto_message_add_label(&track, "tier=cold"));
        MUST(proto_message_add_label(&track, "owner=db"));
        MUST(proto_message_add_range(&track, 0x7f1000000000, 4096));
        emit("valid-track-named-labels", &track);

        proto_message_init(&track_big, PROTO_TRACK, 3);
        for (unsigned i = 0; i < 64; i++)
                MUST(proto_message_add_range(&track_big, (uint64_t) i << 21, 1 << 21));
        for (unsigned i = 0; i < PROTO_LABELS_MAX; i++) {
                char l[32];
                snprintf(l, sizeof l, "key%u=value%u", i, i);
                MUST(proto_message_add_label(&track_big, l));
        }
        emit("valid-track-many", &track_big);

        proto_message_init(&untrack, PROTO_UNTRACK, 4);
        MUST(proto_message_add_range(&untrack, 0x7f0000000000, 4096));
        MUST(proto_message_add_range(&untrack, 0x7f0000100000, 8192));
        emit("valid-untrack", &untrack);

        proto_message_init(&status, PROTO_STATUS, 5);
        emit("valid-status", &status);
        proto_message_init(&bye, PROTO_BYE, 6);
        emit("valid-bye", &bye);

        proto_message_init(&ok, PROTO_REPLY, 1);
        emit("valid-reply-ok", &ok);
        proto_message_init(&err, PROTO_REPLY, 2);
        MUST(proto_message_set_error(&err, EEXIST,
                                     "range 0x7f0000000000+0x4000000 overlaps \"heap\""));
        emit("valid-reply-error", &err);

        proto_message_init(&st, PROTO_REPLY, 5);
        MUST(proto_message_set_backend(&st, "wp-async"));
        MUST(proto_message_add_counter(&st, "tracked_bytes", 64 << 20));
        MUST(proto_message_add_counter(&st, "evicted_bytes", 12 << 20));
        MUST(proto_message_add_counter(&st, "refaults", 17));
        MUST(proto_message_add_range_info(&st, 0x7f0000000000, 64 << 20, "heap"));
        MUST(proto_message_add_range_info(&st, 0x7f1000000000, 4096, NULL));
        emit("valid-reply-status", &st);

        {
                _cleanup_proto_message_ ProtoMessage follow = {}, follow2 = {};

                proto_message_init(&follow, PROTO_FOLLOW, 2);
                follow.min_bytes = 1 << 20;
                emit("valid-follow", &follow);
                proto_message_init(&follow2, PROTO_FOLLOW, 2);
                MUST(proto_message_set_name(&follow2, "redis"));
                MUST(proto_message_add_label(&follow2, "tier=bulk"));
                emit("valid-follow-named-labels", &follow2);
        }
}

/* Offset of the first attribute of the given type in the encoding in buf. */
static size_t find_attr(size_t len, uint16_t type) {
        for (size_t off = PROTO_HEADER_BYTES; off + 4 <= len;) {
                uint16_t t, l;

                memcpy(&t, buf + off, 2);
                memcpy(&l, buf + off + 2, 2);
                if (t == type)
                        return off;
                off += (4u + l + 7u) & ~7u;
        }
        fprintf(stderr, "attribute %u not found\n", type);
        exit(EXIT_FAILURE);
}

/* Starts from a valid encoding of m in buf and returns its length, for mutation. */
static size_t base(ProtoMessage *m) {
        return encode(m);
}

static void broken(void) {
        _cleanup_proto_message_ ProtoMessage track = {}, hello = {}, reply = {};
        size_t len;

        proto_message_init(&track, PROTO_TRACK, 9);
        MUST(proto_message_add_range(&track, 0x10000, 0x4000));
        MUST(proto_message_set_name(&track, "name"));
        MUST(proto_message_add_label(&track, "k=v"));

        len = base(&track);
        write_file("broken-empty", buf, 0);
        write_file("broken-truncated-header", buf, 10);
        write_file("broken-header-only-track", buf, PROTO_HEADER_BYTES);
        write_file("broken-truncated-payload", buf, len - 8);
        write_file("broken-truncated-attr-header", buf, PROTO_HEADER_BYTES + 2);

        len = base(&track);
        set_u32(0, 0x46554454); /* byte-swapped magic */
        write_file("broken-bad-magic", buf, len);

        len = base(&track);
        set_u16(4, 2);
        write_file("broken-version-2", buf, len);
        set_u16(4, 0xffff);
        write_file("broken-version-65535", buf, len);

        len = base(&track);
        set_u16(6, 99);
        write_file("broken-unknown-type", buf, len);

        len = base(&track);
        set_u32(12, 0xffffffff);
        write_file("broken-huge-payload-len", buf, len);

        len = base(&track);
        set_u16(PROTO_HEADER_BYTES + 2, 0xffff);
        write_file("broken-huge-attr-len", buf, len);

        len = base(&track);
        set_u16(find_attr(len, PROTO_ATTR_RANGE) + 2, 0);
        write_file("broken-range-attr-len-0", buf, len);

        len = base(&track);
        memset(buf + find_attr(len, PROTO_ATTR_RANGE) + 4 + 8, 0, 8); /* range length 0 */
        write_file("broken-range-len-0", buf, len);

        len = base(&track);
        memset(buf + find_attr(len, PROTO_ATTR_RANGE) + 4, 0xff, 8); /* start near the top */
        write_file("broken-range-wraps", buf, len);

        len = base(&track);
        buf[len - 1] = 0x55; /* padding of the label */
        write_file("broken-nonzero-padding", buf, len);

        len = base(&track);
        buf[find_attr(len, PROTO_ATTR_NAME) + 4 + 1] = 0;
        write_file("broken-name-nul", buf, len);
        len = base(&track);
        buf[find_attr(len, PROTO_ATTR_NAME) + 4 + 1] = '\n';
        write_file("broken-name-control", buf, len);
        len = base(&track);
        buf[find_attr(len, PROTO_ATTR_NAME) + 4 + 1] = 0xc3;
        write_file("broken-name-bad-utf8", buf, len);

        len = base(&track);
        buf[find_attr(len, PROTO_ATTR_LABEL) + 4 + 1] = '-'; /* "k-v" */
        write_file("broken-label-no-equals", buf, len);

        proto_message_init(&hello, PROTO_HELLO, 1);
        len = base(&hello);
        set_u32(PROTO_HEADER_BYTES + 4, 0x80);
        write_file("broken-hello-unknown-flag", buf, len);
        memcpy(buf + len, buf + PROTO_HEADER_BYTES, 8); /* FLAGS twice */
        set_u32(PROTO_HEADER_BYTES + 4, 0);
        set_u32(PROTO_HEADER_BYTES + 12, 0);
        set_u32(12, (uint32_t) (len + 8 - PROTO_HEADER_BYTES));
        write_file("broken-hello-duplicate-flags", buf, len + 8);
        len = base(&hello);
        set_u16(PROTO_HEADER_BYTES, 200); /* FLAGS becomes an unknown attribute */
        write_file("broken-hello-without-flags", buf, len);

        proto_message_init(&reply, PROTO_REPLY, 3);
        MUST(proto_message_set_error(&reply, ENOENT, "nothing"));
        len = base(&reply);
        set_u32(find_attr(len, PROTO_ATTR_ERROR) + 4, (uint32_t) -1);
        write_file("broken-reply-negative-error", buf, len);
        len = base(&reply);
        set_u16(find_attr(len, PROTO_ATTR_MESSAGE), 200); /* MESSAGE becomes unknown */
        write_file("broken-reply-error-without-message", buf, len);

        {
                _cleanup_proto_message_ ProtoMessage follow = {};

                proto_message_init(&follow, PROTO_FOLLOW, 4);
                follow.min_bytes = 1 << 20;
                MUST(proto_message_add_label(&follow, "k=v"));
                len = base(&follow);
                set_u16(find_attr(len, PROTO_ATTR_MIN_BYTES), 200); /* MIN_BYTES becomes unknown */
                write_file("broken-follow-without-min-bytes", buf, len);
                len = base(&follow);
                set_u16(find_attr(len, PROTO_ATTR_MIN_BYTES) + 2, 4);
                write_file("broken-follow-min-bytes-len-4", buf, len);
                len = base(&follow);
                memcpy(buf + len, buf + PROTO_HEADER_BYTES, 16); /* MIN_BYTES twice */
                set_u32(12, (uint32_t) (len + 16 - PROTO_HEADER_BYTES));
                write_file("broken-follow-duplicate-min-bytes", buf, len + 16);
                len = base(&follow);
                set_u16(4, 2);
                write_file("broken-follow-version-2", buf, len);
        }

        /* Over the size limit. */
        len = base(&track);
        memset(buf + len, 0, sizeof buf - len);
        set_u32(12, PROTO_MESSAGE_MAX_BYTES + 1 - PROTO_HEADER_BYTES);
        write_file("broken-oversized", buf, PROTO_MESSAGE_MAX_BYTES + 1);

        /* Too many ranges: 1025 of them (fits in 64 KiB). */
        {
                size_t off = PROTO_HEADER_BYTES;
                memset(buf, 0, sizeof buf);
                set_u32(0, PROTO_MAGIC);
                set_u16(4, PROTO_VERSION);
                set_u16(6, PROTO_TRACK);
                for (unsigned i = 0; i <= PROTO_RANGES_MAX; i++) {
                        uint64_t v[2] = { (uint64_t) i << 12, 4096 };
                        set_u16(off, PROTO_ATTR_RANGE);
                        set_u16(off + 2, sizeof v);
                        memcpy(buf + off + 4, v, sizeof v);
                        off += 24;
                }
                set_u32(12, (uint32_t) (off - PROTO_HEADER_BYTES));
                write_file("broken-too-many-ranges", buf, off);
        }

        /* Too many counters (257) and range infos (1025) in a REPLY. */
        {
                size_t off = PROTO_HEADER_BYTES;
                memset(buf, 0, sizeof buf);
                set_u32(0, PROTO_MAGIC);
                set_u16(4, PROTO_VERSION);
                set_u16(6, PROTO_REPLY);
                set_u16(off, PROTO_ATTR_ERROR);
                set_u16(off + 2, 4);
                off += 8;
                for (unsigned i = 0; i <= PROTO_COUNTERS_MAX; i++) {
                        set_u16(off, PROTO_ATTR_COUNTER);
                        set_u16(off + 2, 8 + 4);
                        snprintf((char *) buf + off + 12, 5, "c%03u", i);
                        off += 16;
                }
                set_u32(12, (uint32_t) (off - PROTO_HEADER_BYTES));
                write_file("broken-too-many-counters", buf, off);

                off = PROTO_HEADER_BYTES + 8;
                memset(buf + off, 0, sizeof buf - off);
                for (unsigned i = 0; i <= PROTO_RANGE_INFOS_MAX; i++) {
                        uint64_t v[2] = { (uint64_t) i << 12, 4096 };
                        set_u16(off, PROTO_ATTR_RANGE_INFO);
                        set_u16(off + 2, sizeof v);
                        memcpy(buf + off + 4, v, sizeof v);
                        off += 24;
                }
                set_u32(12, (uint32_t) (off - PROTO_HEADER_BYTES));
                write_file("broken-too-many-range-infos", buf, off);
        }

        /* Unknown attributes mixed in: valid, the decoder skips them. */
        len = base(&track);
        set_u16(len, 0x7777);
        set_u16(len + 2, 3);
        memcpy(buf + len + 4, "abc\0", 4);
        set_u32(12, (uint32_t) (len + 8 - PROTO_HEADER_BYTES));
        write_file("valid-track-unknown-attr", buf, len + 8);
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s OUTPUT-DIR\n", argv[0]);
                return EXIT_FAILURE;
        }
        out_dir = argv[1];
        valid();
        broken();
        printf("%u files written to %s\n", n_written, out_dir);
        return EXIT_SUCCESS;
}
