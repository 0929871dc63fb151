/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The handoff wire protocol between libuffdtier and uffdtierd (docs/PROTOCOL.md): a fixed binary
 * header followed by TLV attributes, one message per SOCK_SEQPACKET packet. Pure: no I/O, no
 * logging, so the daemon, the client library, the unit tests and the fuzzer share it unchanged.
 *
 * Integers are in host byte order. Both ends are on the same machine (AF_UNIX), so there is no
 * byte order to convert; the magic reads "UFDT" only on a little-endian host, which is harmless. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define PROTO_MAGIC UINT32_C(0x54444655) /* bytes 'U' 'F' 'D' 'T' on a little-endian host */
#define PROTO_VERSION 1
/* What a version-1 peer understands, within the same header version: 1 the messages of the
 * first release, 2 adds FOLLOW (docs/PROTOCOL.md "Revisions"). A daemon of revision 1 answers
 * a FOLLOW with EPROTO ("unknown message type 7"), which is how a client learns it. */
#define PROTO_REVISION 2

#define PROTO_HEADER_BYTES 16
#define PROTO_ATTR_HEADER_BYTES 4
#define PROTO_ATTR_ALIGN_BYTES 8
/* One whole packet, header included. A receive buffer of this size takes every valid packet;
 * a larger one arrives with MSG_TRUNC (proto_recv(): -EMSGSIZE). */
#define PROTO_MESSAGE_MAX_BYTES (64 * 1024)

/* Count limits per message. */
#define PROTO_RANGES_MAX 1024
#define PROTO_LABELS_MAX 32
#define PROTO_COUNTERS_MAX 256
#define PROTO_RANGE_INFOS_MAX 1024

/* String limits in bytes, without a terminating NUL (none is sent). */
#define PROTO_NAME_MAX_BYTES 64
#define PROTO_LABEL_MAX_BYTES 256
#define PROTO_TEXT_MAX_BYTES 512 /* the MESSAGE attribute of a REPLY */
#define PROTO_BACKEND_MAX_BYTES 64
#define PROTO_COUNTER_NAME_MAX_BYTES 64

/* HELLO carries exactly this many descriptors, in the order of ProtoHelloFd. */
/* How long a client waits for a reply (libuffdtier): anything close means the daemon is stuck or
 * gone. The daemon answers a TRACK within PROTO_TRACK_DEADLINE_USEC, its work done or undone
 * (a refusal with nothing registered), so a TRACK never ends in a timeout on the client's side
 * and a range on the daemon's. */
#define PROTO_REPLY_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define PROTO_TRACK_DEADLINE_USEC (PROTO_REPLY_TIMEOUT_USEC / 2)

#define PROTO_HELLO_N_FDS 3
/* At most this many descriptors are accepted with any packet; more arrive as MSG_CTRUNC. */
#define PROTO_FDS_MAX 16

/* Size of the buffer proto_decode() fills with the reason for a rejection (fits the longest
 * reason, which always fits a REPLY's MESSAGE attribute). */
#define PROTO_REASON_MAX_BYTES 256

typedef enum ProtoType {
        PROTO_HELLO = 1,
        PROTO_TRACK = 2,
        PROTO_UNTRACK = 3,
        PROTO_STATUS = 4,
        PROTO_BYE = 5,
        PROTO_REPLY = 6,
        PROTO_FOLLOW = 7, /* revision 2: the daemon tracks the process's heap itself */
} ProtoType;

typedef enum ProtoHelloFd {
        PROTO_HELLO_FD_UFFD = 0, /* uninitialised userfaultfd: the daemon does UFFDIO_API */
        PROTO_HELLO_FD_PIDFD = 1, /* pidfd of the client process */
        PROTO_HELLO_FD_PAGEMAP = 2, /* the client's /proc/self/pagemap, O_RDONLY */
} ProtoHelloFd;

typedef enum ProtoAttr {
        PROTO_ATTR_FLAGS = 1, /* u32; HELLO */
        PROTO_ATTR_NAME = 2, /* string; HELLO, TRACK */
        PROTO_ATTR_RANGE = 3, /* u64 start, u64 len; TRACK, UNTRACK */
        PROTO_ATTR_LABEL = 4, /* string "key=value"; TRACK */
        PROTO_ATTR_ERROR = 5, /* i32, 0 or a positive errno; REPLY */
        PROTO_ATTR_MESSAGE = 6, /* string; REPLY */
        PROTO_ATTR_BACKEND = 7, /* string; REPLY to STATUS */
        PROTO_ATTR_COUNTER = 8, /* u64 value, then the name string; REPLY to STATUS */
        PROTO_ATTR_RANGE_INFO = 9, /* u64 start, u64 len, then an optional name; REPLY to STATUS */
        PROTO_ATTR_MIN_BYTES = 10, /* u64; FOLLOW (mandatory) */
} ProtoAttr;

/* HELLO flags. */
#define PROTO_HELLO_USER_MODE_ONLY \
        (UINT32_C(1) << 0) /* the uffd was made with UFFD_USER_MODE_ONLY */
#define PROTO_HELLO_FLAGS_ALL PROTO_HELLO_USER_MODE_ONLY

/* FOLLOW: the MIN_BYTES uffdtier-run asks for when not told (smaller runs of mappings are not
 * worth a range of their own). */
#define PROTO_FOLLOW_MIN_BYTES_DEFAULT (UINT64_C(1) << 20)

/* The largest errno a REPLY may carry (the kernel's errno space ends below 4096). */
#define PROTO_ERRNO_MAX 4095

typedef struct ProtoHeader {
        uint32_t magic;
        uint16_t version;
        uint16_t type;
        uint32_t seq;
        uint32_t payload_len;
} ProtoHeader;

typedef struct ProtoRange {
        uint64_t start;
        uint64_t len;
} ProtoRange;

typedef struct ProtoCounter {
        char *name;
        uint64_t value;
} ProtoCounter;

typedef struct ProtoRangeInfo {
        uint64_t start;
        uint64_t len;
        char *name; /* NULL when the range has no name (sent as an empty string) */
} ProtoRangeInfo;

/* A decoded (or to-be-encoded) message. Only the fields the type defines are meaningful; the
 * others stay zero/NULL. Strings and arrays are owned and freed by proto_message_done(). */
typedef struct ProtoMessage {
        uint16_t version;
        uint16_t type; /* ProtoType */
        uint32_t seq;

        uint32_t flags; /* HELLO */
        uint64_t min_bytes; /* FOLLOW */
        char *name; /* HELLO (client name), TRACK and FOLLOW (range name); NULL when absent */

        ProtoRange *ranges; /* TRACK, UNTRACK */
        size_t n_ranges;
        char **labels; /* TRACK, FOLLOW */
        size_t n_labels;

        int32_t error; /* REPLY: 0 or a positive errno */
        char *message; /* REPLY: mandatory when error != 0 */
        char *backend; /* REPLY to STATUS; NULL when absent */
        ProtoCounter *counters;
        size_t n_counters;
        ProtoRangeInfo *range_infos;
        size_t n_range_infos;
} ProtoMessage;

const char *proto_type_to_string(unsigned type);
/* HELLO, TRACK, UNTRACK, STATUS, BYE, FOLLOW: the messages a daemon accepts. */
bool proto_type_is_request(unsigned type);

/* Zeroes *m and sets version, type and seq. */
void proto_message_init(ProtoMessage *m, ProtoType type, uint32_t seq);
/* Frees everything *m owns and zeroes it; safe on a zeroed or half-built message. */
void proto_message_done(ProtoMessage *m);
static inline void proto_message_donep(ProtoMessage *m) {
        proto_message_done(m);
}
#define _cleanup_proto_message_ _cleanup_(proto_message_donep)

/* Builders. They copy their string arguments and check them against the same rules the decoder
 * applies: -EINVAL for an invalid string, range or errno, -E2BIG when a count limit is reached,
 * -EEXIST for a second label with the same key, -ENOMEM. */
int proto_message_set_name(ProtoMessage *m, const char *name);
int proto_message_add_range(ProtoMessage *m, uint64_t start, uint64_t len);
int proto_message_add_label(ProtoMessage *m, const char *label);
int proto_message_set_backend(ProtoMessage *m, const char *backend);
int proto_message_add_counter(ProtoMessage *m, const char *name, uint64_t value);
int proto_message_add_range_info(ProtoMessage *m, uint64_t start, uint64_t len, const char *name);
/* Sets ERROR (error may be given as a positive or negative errno, 0 = success) and MESSAGE. The
 * text is made acceptable instead of rejected: control characters and invalid UTF-8 become '?',
 * and it is cut at PROTO_TEXT_MAX_BYTES on a character boundary, so an error reply can always be
 * built. A NULL or empty text with error != 0 becomes strerror(error). */
int proto_message_set_error(ProtoMessage *m, int error, const char *text);
int proto_message_set_errorf(ProtoMessage *m, int error, const char *format, ...) _printf_(3, 4);

/* Checks a message against every rule of its type (strings, ranges, counts, mandatory attributes,
 * flags): what proto_encode() requires and what proto_decode() guarantees. Returns 0, or -EBADMSG
 * (invalid value), -EPROTO (missing attribute, unknown type or flag), -E2BIG (count limit),
 * -EPROTONOSUPPORT (version), with a human-readable reason in reason (may be NULL). */
int proto_message_validate(const ProtoMessage *m, char *reason, size_t reason_size);

/* Bytes proto_encode() will produce for m (which must validate). */
size_t proto_message_encoded_size(const ProtoMessage *m);

/* Serialises m into buf. Returns 0 and the length in *ret_len, -EINVAL when m does not validate,
 * -EMSGSIZE when it would exceed PROTO_MESSAGE_MAX_BYTES, -ENOBUFS when size is too small. */
int proto_encode(const ProtoMessage *m, void *buf, size_t size, size_t *ret_len);

/* Parses and validates one packet. Returns 0 and fills *ret (free with proto_message_done()), or:
 *   -EMSGSIZE         len > PROTO_MESSAGE_MAX_BYTES
 *   -EBADMSG          malformed: truncated header, bad magic, payload_len mismatch, attribute
 *                     overflow or bad length, non-zero padding, invalid string (NUL, control
 *                     character, invalid UTF-8, too long), range of length 0 or wrapping around,
 *                     duplicate singleton attribute or label key, negative or huge errno
 *   -EPROTONOSUPPORT  version != PROTO_VERSION
 *   -EPROTO           unknown message type, unknown HELLO flag, mandatory attribute missing
 *   -E2BIG            too many ranges, labels, counters or range infos
 *   -ENOMEM
 * On failure, reason (if not NULL) receives a human-readable explanation suitable for the MESSAGE
 * of the REPLY. Attributes a type does not define are skipped (forward compatibility). */
int proto_decode(const void *buf, size_t len, char *reason, size_t reason_size, ProtoMessage *ret);

/* Reads just the header so a rejected packet can still be answered with its seq. Returns 0, or
 * -EBADMSG when len < PROTO_HEADER_BYTES or the magic is wrong. No other check is made. */
int proto_peek_header(const void *buf, size_t len, ProtoHeader *ret);

/* One-shot: encodes a REPLY with the given seq, error and text (see proto_message_set_error()). */
int proto_encode_reply(uint32_t seq, int error, const char *text, void *buf, size_t size,
                       size_t *ret_len);

/* The string rules, for callers that want to check user input before building a message. Each
 * returns 0 or -EINVAL. */
int proto_check_string(const char *s, size_t max_bytes, bool allow_empty);
int proto_check_label(const char *label);

/* Deep comparison, for tests and the fuzzer. */
bool proto_message_equal(const ProtoMessage *a, const ProtoMessage *b);
