/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "protocol.h"

/* Which attributes a message type defines, as a bit mask of 1 << ProtoAttr. Everything else in a
 * packet of that type is skipped by the decoder and refused by the encoder. */
#define A(x) (1u << (x))
static const uint32_t type_attrs[] = {
        [PROTO_HELLO] = A(PROTO_ATTR_FLAGS) | A(PROTO_ATTR_NAME),
        [PROTO_TRACK] = A(PROTO_ATTR_RANGE) | A(PROTO_ATTR_NAME) | A(PROTO_ATTR_LABEL),
        [PROTO_UNTRACK] = A(PROTO_ATTR_RANGE),
        [PROTO_STATUS] = 0,
        [PROTO_BYE] = 0,
        [PROTO_REPLY] = A(PROTO_ATTR_ERROR) | A(PROTO_ATTR_MESSAGE) | A(PROTO_ATTR_BACKEND) |
                A(PROTO_ATTR_COUNTER) | A(PROTO_ATTR_RANGE_INFO),
        [PROTO_FOLLOW] = A(PROTO_ATTR_MIN_BYTES) | A(PROTO_ATTR_NAME) | A(PROTO_ATTR_LABEL),
};
/* Attributes that may appear at most once. */
#define SINGLETON_ATTRS                                                                           \
        (A(PROTO_ATTR_FLAGS) | A(PROTO_ATTR_NAME) | A(PROTO_ATTR_ERROR) | A(PROTO_ATTR_MESSAGE) | \
         A(PROTO_ATTR_BACKEND) | A(PROTO_ATTR_MIN_BYTES))

static const char *const type_names[] = {
        [PROTO_HELLO] = "HELLO",   [PROTO_TRACK] = "TRACK", [PROTO_UNTRACK] = "UNTRACK",
        [PROTO_STATUS] = "STATUS", [PROTO_BYE] = "BYE",     [PROTO_REPLY] = "REPLY",
        [PROTO_FOLLOW] = "FOLLOW",
};

static const char *const attr_names[] = {
        [PROTO_ATTR_FLAGS] = "FLAGS",           [PROTO_ATTR_NAME] = "NAME",
        [PROTO_ATTR_RANGE] = "RANGE",           [PROTO_ATTR_LABEL] = "LABEL",
        [PROTO_ATTR_ERROR] = "ERROR",           [PROTO_ATTR_MESSAGE] = "MESSAGE",
        [PROTO_ATTR_BACKEND] = "BACKEND",       [PROTO_ATTR_COUNTER] = "COUNTER",
        [PROTO_ATTR_RANGE_INFO] = "RANGE_INFO", [PROTO_ATTR_MIN_BYTES] = "MIN_BYTES",
};

static bool type_known(unsigned type) {
        return type < ELEMENTSOF(type_names) && type_names[type];
}

const char *proto_type_to_string(unsigned type) {
        return type_known(type) ? type_names[type] : NULL;
}

bool proto_type_is_request(unsigned type) {
        return type_known(type) && type != PROTO_REPLY;
}

static const char *attr_name(unsigned attr) {
        return attr < ELEMENTSOF(attr_names) && attr_names[attr] ? attr_names[attr] : "?";
}

/* Formats the reason (if wanted) and passes error through, so checks read `return fail(...)`. */
_printf_(4, 5) static int fail(int error, char *reason, size_t reason_size, const char *format,
                               ...) {
        if (reason && reason_size > 0) {
                va_list ap;

                va_start(ap, format);
                (void) vsnprintf(reason, reason_size, format, ap);
                va_end(ap);
        }
        return error;
}

/* ---- strings ---- */

/* Length of the UTF-8 sequence starting at s (at most n bytes available), or 0 if it is not a
 * well-formed, shortest-form encoding of a scalar value (no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence_len(const uint8_t *s, size_t n) {
        uint32_t c, min;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2, c = s[0] & 0x1f, min = 0x80;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3, c = s[0] & 0x0f, min = 0x800;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4, c = s[0] & 0x07, min = 0x10000;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return len;
}

static bool is_control(uint8_t c) {
        return c < 0x20 || c == 0x7f;
}

static const char why_too_long[] = "is too long";

/* A rejected string: "<what> <why>", where "is too long" gets the limit. */
static int string_fail(char *reason, size_t reason_size, const char *what, const char *why,
                       size_t max) {
        if (why == why_too_long)
                return fail(-EBADMSG, reason, reason_size, "%s is longer than %zu bytes", what,
                            max);
        return fail(-EBADMSG, reason, reason_size, "%s %s", what, why);
}

/* The rule every string on the wire follows: 1..max bytes (0 allowed where stated), no NUL, no
 * control characters (they would corrupt logs and line-based tools), valid UTF-8 (names end up
 * in D-Bus properties, which must be UTF-8). Returns NULL or what is wrong. */
static const char *check_bytes(const uint8_t *s, size_t n, size_t max, bool allow_empty) {
        if (n == 0 && !allow_empty)
                return "is empty";
        if (n > max)
                return why_too_long;
        for (size_t i = 0; i < n;) {
                size_t l;

                if (s[i] == 0)
                        return "contains a NUL byte";
                if (is_control(s[i]))
                        return "contains a control character";
                l = utf8_sequence_len(s + i, n - i);
                if (l == 0)
                        return "is not valid UTF-8";
                i += l;
        }
        return NULL;
}

static const char *check_cstring(const char *s, size_t max, bool allow_empty) {
        /* strnlen: an over-long string is rejected without reading all of it. */
        size_t n = strnlen(s, max + 1);
        return check_bytes((const uint8_t *) s, n, max, allow_empty);
}

int proto_check_string(const char *s, size_t max_bytes, bool allow_empty) {
        if (!s)
                return -EINVAL;
        return check_cstring(s, max_bytes, allow_empty) ? -EINVAL : 0;
}

/* "key=value": a non-empty key before the first '='; the value may be empty. */
static const char *check_label_syntax(const char *label) {
        const char *eq = strchr(label, '=');

        if (!eq)
                return "has no '=' (expected key=value)";
        if (eq == label)
                return "has an empty key (expected key=value)";
        return NULL;
}

int proto_check_label(const char *label) {
        if (proto_check_string(label, PROTO_LABEL_MAX_BYTES, false) < 0)
                return -EINVAL;
        return check_label_syntax(label) ? -EINVAL : 0;
}

static bool label_keys_equal(const char *a, const char *b) {
        size_t ka = strcspn(a, "="), kb = strcspn(b, "=");
        return ka == kb && memcmp(a, b, ka) == 0;
}

static const char *check_range(uint64_t start, uint64_t len) {
        if (len == 0)
                return "has length 0";
        if (start + len < start)
                return "wraps around the end of the address space";
        return NULL;
}

/* ---- the message object ---- */

void proto_message_init(ProtoMessage *m, ProtoType type, uint32_t seq) {
        *m = (ProtoMessage){
                .version = PROTO_VERSION,
                .type = type,
                .seq = seq,
        };
}

void proto_message_done(ProtoMessage *m) {
        if (!m)
                return;
        free(m->name);
        free(m->ranges);
        for (size_t i = 0; i < m->n_labels; i++)
                free(m->labels[i]);
        free(m->labels);
        free(m->message);
        free(m->backend);
        for (size_t i = 0; i < m->n_counters; i++)
                free(m->counters[i].name);
        free(m->counters);
        for (size_t i = 0; i < m->n_range_infos; i++)
                free(m->range_infos[i].name);
        free(m->range_infos);
        *m = (ProtoMessage){};
}

/* Makes room for one more element; arrays stay small (<= 1024 entries), so growing one element at
 * a time keeps the code obvious at a negligible cost. */
static int grow(void **array, size_t n, size_t element_size) {
        void *p = reallocarray(*array, n + 1, element_size);
        if (!p)
                return -ENOMEM;
        *array = p;
        return 0;
}

static int replace_string(char **field, const char *s, size_t max, bool allow_empty) {
        char *copy;

        if (!s || check_cstring(s, max, allow_empty))
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int proto_message_set_name(ProtoMessage *m, const char *name) {
        return replace_string(&m->name, name, PROTO_NAME_MAX_BYTES, false);
}

int proto_message_set_backend(ProtoMessage *m, const char *backend) {
        return replace_string(&m->backend, backend, PROTO_BACKEND_MAX_BYTES, false);
}

int proto_message_add_range(ProtoMessage *m, uint64_t start, uint64_t len) {
        if (check_range(start, len))
                return -EINVAL;
        if (m->n_ranges >= PROTO_RANGES_MAX)
                return -E2BIG;
        if (grow((void **) &m->ranges, m->n_ranges, sizeof *m->ranges) < 0)
                return -ENOMEM;
        m->ranges[m->n_ranges++] = (ProtoRange){ start, len };
        return 0;
}

int proto_message_add_label(ProtoMessage *m, const char *label) {
        char *copy;

        if (proto_check_label(label) < 0)
                return -EINVAL;
        if (m->n_labels >= PROTO_LABELS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < m->n_labels; i++)
                if (label_keys_equal(m->labels[i], label))
                        return -EEXIST;
        if (grow((void **) &m->labels, m->n_labels, sizeof *m->labels) < 0)
                return -ENOMEM;
        copy = strdup(label);
        if (!copy)
                return -ENOMEM;
        m->labels[m->n_labels++] = copy;
        return 0;
}

int proto_message_add_counter(ProtoMessage *m, const char *name, uint64_t value) {
        char *copy;

        if (!name || check_cstring(name, PROTO_COUNTER_NAME_MAX_BYTES, false))
                return -EINVAL;
        if (m->n_counters >= PROTO_COUNTERS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < m->n_counters; i++)
                if (streq(m->counters[i].name, name))
                        return -EEXIST;
        if (grow((void **) &m->counters, m->n_counters, sizeof *m->counters) < 0)
                return -ENOMEM;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        m->counters[m->n_counters++] = (ProtoCounter){ copy, value };
        return 0;
}

int proto_message_add_range_info(ProtoMessage *m, uint64_t start, uint64_t len, const char *name) {
        char *copy = NULL;

        if (check_range(start, len))
                return -EINVAL;
        if (name && check_cstring(name, PROTO_NAME_MAX_BYTES, true))
                return -EINVAL;
        if (m->n_range_infos >= PROTO_RANGE_INFOS_MAX)
                return -E2BIG;
        if (grow((void **) &m->range_infos, m->n_range_infos, sizeof *m->range_infos) < 0)
                return -ENOMEM;
        if (name && name[0]) {
                copy = strdup(name);
                if (!copy)
                        return -ENOMEM;
        }
        m->range_infos[m->n_range_infos++] = (ProtoRangeInfo){ start, len, copy };
        return 0;
}

/* Copies text into a fresh PROTO_TEXT_MAX_BYTES-bounded string, replacing whatever the wire
 * would refuse with '?', cutting on a character boundary. */
static char *sanitize_text(const char *text) {
        const uint8_t *s = (const uint8_t *) text;
        size_t n = strlen(text), o = 0;
        char *out = malloc(MIN(n, (size_t) PROTO_TEXT_MAX_BYTES) + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t l = is_control(s[i]) ? 0 : utf8_sequence_len(s + i, n - i);

                if (l == 0) {
                        if (o + 1 > PROTO_TEXT_MAX_BYTES)
                                break;
                        out[o++] = '?';
                        i++;
                        continue;
                }
                if (o + l > PROTO_TEXT_MAX_BYTES)
                        break;
                memcpy(out + o, s + i, l);
                o += l;
                i += l;
        }
        out[o] = 0;
        return out;
}

int proto_message_set_error(ProtoMessage *m, int error, const char *text) {
        char *copy = NULL;

        if (error < -PROTO_ERRNO_MAX || error > PROTO_ERRNO_MAX)
                return -EINVAL;
        error = error < 0 ? -error : error;
        if (error != 0 && (!text || !text[0]))
                text = strerror(error);
        if (text && text[0]) {
                copy = sanitize_text(text);
                if (!copy)
                        return -ENOMEM;
        }
        free(m->message);
        m->message = copy;
        m->error = error;
        return 0;
}

int proto_message_set_errorf(ProtoMessage *m, int error, const char *format, ...) {
        char text[PROTO_TEXT_MAX_BYTES + 1];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(text, sizeof text, format, ap);
        va_end(ap);
        return proto_message_set_error(m, error, text);
}

/* ---- validation ---- */

int proto_message_validate(const ProtoMessage *m, char *reason, size_t reason_size) {
        uint32_t defined;
        const char *why;

        if (m->version != PROTO_VERSION)
                return fail(-EPROTONOSUPPORT, reason, reason_size,
                            "protocol version %u is not supported, this side speaks version %u",
                            m->version, PROTO_VERSION);
        if (!type_known(m->type))
                return fail(-EPROTO, reason, reason_size, "unknown message type %u", m->type);
        defined = type_attrs[m->type];

        /* Fields the type does not define must be empty: the encoder would silently drop them. */
        if ((m->flags && !(defined & A(PROTO_ATTR_FLAGS))) ||
            (m->min_bytes && !(defined & A(PROTO_ATTR_MIN_BYTES))) ||
            (m->name && !(defined & A(PROTO_ATTR_NAME))) ||
            (m->n_ranges && !(defined & A(PROTO_ATTR_RANGE))) ||
            (m->n_labels && !(defined & A(PROTO_ATTR_LABEL))) ||
            (m->error && !(defined & A(PROTO_ATTR_ERROR))) ||
            (m->message && !(defined & A(PROTO_ATTR_MESSAGE))) ||
            (m->backend && !(defined & A(PROTO_ATTR_BACKEND))) ||
            (m->n_counters && !(defined & A(PROTO_ATTR_COUNTER))) ||
            (m->n_range_infos && !(defined & A(PROTO_ATTR_RANGE_INFO))))
                return fail(-EPROTO, reason, reason_size,
                            "%s message carries a field its type does not define",
                            type_names[m->type]);

        if (m->type == PROTO_HELLO && (m->flags & ~PROTO_HELLO_FLAGS_ALL))
                return fail(-EPROTO, reason, reason_size, "unknown HELLO flags 0x%x",
                            (unsigned) (m->flags & ~PROTO_HELLO_FLAGS_ALL));
        if (m->name && (why = check_cstring(m->name, PROTO_NAME_MAX_BYTES, false)))
                return string_fail(reason, reason_size, "NAME", why, PROTO_NAME_MAX_BYTES);

        if (m->type == PROTO_TRACK || m->type == PROTO_UNTRACK) {
                if (m->n_ranges == 0)
                        return fail(-EPROTO, reason, reason_size, "%s without a RANGE",
                                    type_names[m->type]);
                if (m->n_ranges > PROTO_RANGES_MAX)
                        return fail(-E2BIG, reason, reason_size,
                                    "%zu ranges, at most %u are allowed per message", m->n_ranges,
                                    PROTO_RANGES_MAX);
                for (size_t i = 0; i < m->n_ranges; i++)
                        if ((why = check_range(m->ranges[i].start, m->ranges[i].len)))
                                return fail(-EBADMSG, reason, reason_size,
                                            "RANGE 0x%" PRIx64 "+0x%" PRIx64 " %s",
                                            m->ranges[i].start, m->ranges[i].len, why);
        }

        if (m->n_labels > PROTO_LABELS_MAX)
                return fail(-E2BIG, reason, reason_size,
                            "%zu labels, at most %u are allowed per message", m->n_labels,
                            PROTO_LABELS_MAX);
        for (size_t i = 0; i < m->n_labels; i++) {
                if (!m->labels[i])
                        return fail(-EBADMSG, reason, reason_size, "LABEL is missing");
                why = check_cstring(m->labels[i], PROTO_LABEL_MAX_BYTES, false);
                if (!why)
                        why = check_label_syntax(m->labels[i]);
                if (why)
                        return string_fail(reason, reason_size, "LABEL", why,
                                           PROTO_LABEL_MAX_BYTES);
                for (size_t j = 0; j < i; j++)
                        if (label_keys_equal(m->labels[i], m->labels[j]))
                                return fail(-EBADMSG, reason, reason_size,
                                            "LABEL key of \"%.64s\" appears twice", m->labels[i]);
        }

        if (m->type == PROTO_REPLY) {
                if (m->error < 0 || m->error > PROTO_ERRNO_MAX)
                        return fail(-EBADMSG, reason, reason_size,
                                    "ERROR %" PRIi32 " is not 0 or a positive errno", m->error);
                if (m->error != 0 && !m->message)
                        return fail(-EPROTO, reason, reason_size,
                                    "REPLY with ERROR %" PRIi32 " has no MESSAGE", m->error);
        }
        if (m->message && (why = check_cstring(m->message, PROTO_TEXT_MAX_BYTES, false)))
                return string_fail(reason, reason_size, "MESSAGE", why, PROTO_TEXT_MAX_BYTES);
        if (m->backend && (why = check_cstring(m->backend, PROTO_BACKEND_MAX_BYTES, false)))
                return string_fail(reason, reason_size, "BACKEND", why, PROTO_BACKEND_MAX_BYTES);

        if (m->n_counters > PROTO_COUNTERS_MAX)
                return fail(-E2BIG, reason, reason_size,
                            "%zu counters, at most %u are allowed per message", m->n_counters,
                            PROTO_COUNTERS_MAX);
        for (size_t i = 0; i < m->n_counters; i++) {
                const char *name = m->counters[i].name;

                if (!name)
                        return fail(-EBADMSG, reason, reason_size, "COUNTER without a name");
                if ((why = check_cstring(name, PROTO_COUNTER_NAME_MAX_BYTES, false)))
                        return string_fail(reason, reason_size, "COUNTER name", why,
                                           PROTO_COUNTER_NAME_MAX_BYTES);
                for (size_t j = 0; j < i; j++)
                        if (streq(name, m->counters[j].name))
                                return fail(-EBADMSG, reason, reason_size,
                                            "COUNTER \"%s\" appears twice", name);
        }

        if (m->n_range_infos > PROTO_RANGE_INFOS_MAX)
                return fail(-E2BIG, reason, reason_size,
                            "%zu range infos, at most %u are allowed per message", m->n_range_infos,
                            PROTO_RANGE_INFOS_MAX);
        for (size_t i = 0; i < m->n_range_infos; i++) {
                const ProtoRangeInfo *ri = m->range_infos + i;

                if ((why = check_range(ri->start, ri->len)))
                        return fail(-EBADMSG, reason, reason_size,
                                    "RANGE_INFO 0x%" PRIx64 "+0x%" PRIx64 " %s", ri->start, ri->len,
                                    why);
                /* An empty name is sent for "no name" and decodes to NULL; refuse "" here so
                 * that a message survives a round trip unchanged. */
                if (ri->name && (why = check_cstring(ri->name, PROTO_NAME_MAX_BYTES, false)))
                        return string_fail(reason, reason_size, "RANGE_INFO name", why,
                                           PROTO_NAME_MAX_BYTES);
        }
        return 0;
}

/* ---- encoding ---- */

static size_t attr_size(size_t value_len) {
        return ALIGN_UP(PROTO_ATTR_HEADER_BYTES + value_len, (size_t) PROTO_ATTR_ALIGN_BYTES);
}

size_t proto_message_encoded_size(const ProtoMessage *m) {
        size_t n = PROTO_HEADER_BYTES;

        if (m->type == PROTO_HELLO)
                n += attr_size(sizeof(uint32_t));
        if (m->type == PROTO_FOLLOW)
                n += attr_size(sizeof(uint64_t));
        if (m->name)
                n += attr_size(strlen(m->name));
        n += m->n_ranges * attr_size(2 * sizeof(uint64_t));
        for (size_t i = 0; i < m->n_labels; i++)
                n += attr_size(strlen(m->labels[i]));
        if (m->type == PROTO_REPLY)
                n += attr_size(sizeof(int32_t));
        if (m->message)
                n += attr_size(strlen(m->message));
        if (m->backend)
                n += attr_size(strlen(m->backend));
        for (size_t i = 0; i < m->n_counters; i++)
                n += attr_size(sizeof(uint64_t) + strlen(m->counters[i].name));
        for (size_t i = 0; i < m->n_range_infos; i++)
                n += attr_size(2 * sizeof(uint64_t) +
                               (m->range_infos[i].name ? strlen(m->range_infos[i].name) : 0));
        return n;
}

typedef struct Writer {
        uint8_t *p;
        size_t off;
} Writer;

/* One attribute whose value is a (fixed part, variable part) pair, then zero padding. */
static void put_attr(Writer *w, uint16_t type, const void *v1, size_t l1, const void *v2,
                     size_t l2) {
        uint16_t len = (uint16_t) (l1 + l2);
        size_t total = attr_size(l1 + l2);

        memcpy(w->p + w->off, &type, sizeof type);
        memcpy(w->p + w->off + 2, &len, sizeof len);
        if (l1)
                memcpy(w->p + w->off + PROTO_ATTR_HEADER_BYTES, v1, l1);
        if (l2)
                memcpy(w->p + w->off + PROTO_ATTR_HEADER_BYTES + l1, v2, l2);
        memset(w->p + w->off + PROTO_ATTR_HEADER_BYTES + l1 + l2, 0,
               total - PROTO_ATTR_HEADER_BYTES - l1 - l2);
        w->off += total;
}

static void put_string(Writer *w, uint16_t type, const char *s) {
        put_attr(w, type, s, strlen(s), NULL, 0);
}

int proto_encode(const ProtoMessage *m, void *buf, size_t size, size_t *ret_len) {
        Writer w = { .p = buf, .off = PROTO_HEADER_BYTES };
        ProtoHeader h;
        size_t total;

        if (proto_message_validate(m, NULL, 0) < 0)
                return -EINVAL;
        total = proto_message_encoded_size(m);
        if (total > PROTO_MESSAGE_MAX_BYTES)
                return -EMSGSIZE;
        if (total > size)
                return -ENOBUFS;

        if (m->type == PROTO_HELLO)
                put_attr(&w, PROTO_ATTR_FLAGS, &m->flags, sizeof m->flags, NULL, 0);
        if (m->type == PROTO_FOLLOW)
                put_attr(&w, PROTO_ATTR_MIN_BYTES, &m->min_bytes, sizeof m->min_bytes, NULL, 0);
        if (m->name)
                put_string(&w, PROTO_ATTR_NAME, m->name);
        for (size_t i = 0; i < m->n_ranges; i++) {
                uint64_t v[2] = { m->ranges[i].start, m->ranges[i].len };
                put_attr(&w, PROTO_ATTR_RANGE, v, sizeof v, NULL, 0);
        }
        for (size_t i = 0; i < m->n_labels; i++)
                put_string(&w, PROTO_ATTR_LABEL, m->labels[i]);
        if (m->type == PROTO_REPLY)
                put_attr(&w, PROTO_ATTR_ERROR, &m->error, sizeof m->error, NULL, 0);
        if (m->message)
                put_string(&w, PROTO_ATTR_MESSAGE, m->message);
        if (m->backend)
                put_string(&w, PROTO_ATTR_BACKEND, m->backend);
        for (size_t i = 0; i < m->n_counters; i++)
                put_attr(&w, PROTO_ATTR_COUNTER, &m->counters[i].value, sizeof(uint64_t),
                         m->counters[i].name, strlen(m->counters[i].name));
        for (size_t i = 0; i < m->n_range_infos; i++) {
                const ProtoRangeInfo *ri = m->range_infos + i;
                uint64_t v[2] = { ri->start, ri->len };
                put_attr(&w, PROTO_ATTR_RANGE_INFO, v, sizeof v, ri->name,
                         ri->name ? strlen(ri->name) : 0);
        }
        assert(w.off == total);

        h = (ProtoHeader){
                .magic = PROTO_MAGIC,
                .version = m->version,
                .type = m->type,
                .seq = m->seq,
                .payload_len = (uint32_t) (total - PROTO_HEADER_BYTES),
        };
        memcpy(w.p + 0, &h.magic, 4);
        memcpy(w.p + 4, &h.version, 2);
        memcpy(w.p + 6, &h.type, 2);
        memcpy(w.p + 8, &h.seq, 4);
        memcpy(w.p + 12, &h.payload_len, 4);
        *ret_len = total;
        return 0;
}

int proto_encode_reply(uint32_t seq, int error, const char *text, void *buf, size_t size,
                       size_t *ret_len) {
        _cleanup_proto_message_ ProtoMessage m = {};
        int r;

        proto_message_init(&m, PROTO_REPLY, seq);
        r = proto_message_set_error(&m, error, text);
        if (r < 0)
                return r;
        return proto_encode(&m, buf, size, ret_len);
}

/* ---- decoding ---- */

int proto_peek_header(const void *buf, size_t len, ProtoHeader *ret) {
        const uint8_t *p = buf;
        ProtoHeader h;

        if (len < PROTO_HEADER_BYTES)
                return -EBADMSG;
        memcpy(&h.magic, p + 0, 4);
        memcpy(&h.version, p + 4, 2);
        memcpy(&h.type, p + 6, 2);
        memcpy(&h.seq, p + 8, 4);
        memcpy(&h.payload_len, p + 12, 4);
        if (h.magic != PROTO_MAGIC)
                return -EBADMSG;
        *ret = h;
        return 0;
}

static char *dup_bytes(const uint8_t *s, size_t n) {
        char *p = malloc(n + 1);
        if (!p)
                return NULL;
        memcpy(p, s, n);
        p[n] = 0;
        return p;
}

/* Where an attribute sits in the packet, for the reason text. */
typedef struct AttrRef {
        uint16_t type;
        uint16_t len;
        size_t offset; /* of the attribute header, from the start of the packet */
        const uint8_t *value;
} AttrRef;

static int parse_string(const AttrRef *a, size_t max, char **field, char *reason, size_t rsize) {
        const char *why = check_bytes(a->value, a->len, max, false);

        if (why) {
                char what[64];

                snprintf(what, sizeof what, "%s attribute at offset %zu", attr_name(a->type),
                         a->offset);
                return string_fail(reason, rsize, what, why, max);
        }
        *field = dup_bytes(a->value, a->len);
        return *field ? 0 : -ENOMEM;
}

static int parse_fixed_len(const AttrRef *a, size_t expected, char *reason, size_t rsize) {
        if (a->len != expected)
                return fail(-EBADMSG, reason, rsize,
                            "%s attribute at offset %zu has length %u, expected %zu",
                            attr_name(a->type), a->offset, a->len, expected);
        return 0;
}

static int parse_range_value(const AttrRef *a, ProtoRange *ret, char *reason, size_t rsize) {
        ProtoRange r;
        const char *why;

        memcpy(&r.start, a->value, 8);
        memcpy(&r.len, a->value + 8, 8);
        why = check_range(r.start, r.len);
        if (why)
                return fail(-EBADMSG, reason, rsize,
                            "%s attribute at offset %zu: range 0x%" PRIx64 "+0x%" PRIx64 " %s",
                            attr_name(a->type), a->offset, r.start, r.len, why);
        *ret = r;
        return 0;
}

static int too_many(const AttrRef *a, unsigned max, char *reason, size_t rsize) {
        return fail(-E2BIG, reason, rsize, "more than %u %s attributes in one message", max,
                    attr_name(a->type));
}

static int parse_attr(ProtoMessage *m, const AttrRef *a, char *reason, size_t rsize) {
        int r;

        switch (a->type) {
        case PROTO_ATTR_FLAGS:
                r = parse_fixed_len(a, sizeof(uint32_t), reason, rsize);
                if (r < 0)
                        return r;
                memcpy(&m->flags, a->value, sizeof(uint32_t));
                return 0;

        case PROTO_ATTR_NAME:
                return parse_string(a, PROTO_NAME_MAX_BYTES, &m->name, reason, rsize);

        case PROTO_ATTR_MIN_BYTES:
                r = parse_fixed_len(a, sizeof(uint64_t), reason, rsize);
                if (r < 0)
                        return r;
                memcpy(&m->min_bytes, a->value, sizeof(uint64_t));
                return 0;

        case PROTO_ATTR_RANGE: {
                ProtoRange range;

                r = parse_fixed_len(a, 2 * sizeof(uint64_t), reason, rsize);
                if (r < 0)
                        return r;
                r = parse_range_value(a, &range, reason, rsize);
                if (r < 0)
                        return r;
                if (m->n_ranges >= PROTO_RANGES_MAX)
                        return too_many(a, PROTO_RANGES_MAX, reason, rsize);
                if (grow((void **) &m->ranges, m->n_ranges, sizeof *m->ranges) < 0)
                        return -ENOMEM;
                m->ranges[m->n_ranges++] = range;
                return 0;
        }

        case PROTO_ATTR_LABEL: {
                char *label = NULL;

                if (m->n_labels >= PROTO_LABELS_MAX)
                        return too_many(a, PROTO_LABELS_MAX, reason, rsize);
                if (grow((void **) &m->labels, m->n_labels, sizeof *m->labels) < 0)
                        return -ENOMEM;
                r = parse_string(a, PROTO_LABEL_MAX_BYTES, &label, reason, rsize);
                if (r < 0)
                        return r;
                m->labels[m->n_labels++] = label;
                return 0;
        }

        case PROTO_ATTR_ERROR:
                r = parse_fixed_len(a, sizeof(int32_t), reason, rsize);
                if (r < 0)
                        return r;
                memcpy(&m->error, a->value, sizeof(int32_t));
                return 0;

        case PROTO_ATTR_MESSAGE:
                return parse_string(a, PROTO_TEXT_MAX_BYTES, &m->message, reason, rsize);

        case PROTO_ATTR_BACKEND:
                return parse_string(a, PROTO_BACKEND_MAX_BYTES, &m->backend, reason, rsize);

        case PROTO_ATTR_COUNTER: {
                AttrRef name = { a->type, (uint16_t) (a->len - sizeof(uint64_t)), a->offset,
                                 a->value + sizeof(uint64_t) };
                uint64_t value;
                char *s = NULL;

                if (a->len <= sizeof(uint64_t))
                        return fail(-EBADMSG, reason, rsize,
                                    "COUNTER attribute at offset %zu has length %u, too short for "
                                    "a value and a name",
                                    a->offset, a->len);
                if (m->n_counters >= PROTO_COUNTERS_MAX)
                        return too_many(a, PROTO_COUNTERS_MAX, reason, rsize);
                memcpy(&value, a->value, sizeof value);
                if (grow((void **) &m->counters, m->n_counters, sizeof *m->counters) < 0)
                        return -ENOMEM;
                r = parse_string(&name, PROTO_COUNTER_NAME_MAX_BYTES, &s, reason, rsize);
                if (r < 0)
                        return r;
                m->counters[m->n_counters++] = (ProtoCounter){ s, value };
                return 0;
        }

        case PROTO_ATTR_RANGE_INFO: {
                AttrRef name = { a->type, (uint16_t) (a->len - 2 * sizeof(uint64_t)), a->offset,
                                 a->value + 2 * sizeof(uint64_t) };
                ProtoRange range;
                char *s = NULL;

                if (a->len < 2 * sizeof(uint64_t))
                        return fail(-EBADMSG, reason, rsize,
                                    "RANGE_INFO attribute at offset %zu has length %u, too short "
                                    "for a range",
                                    a->offset, a->len);
                r = parse_range_value(a, &range, reason, rsize);
                if (r < 0)
                        return r;
                if (m->n_range_infos >= PROTO_RANGE_INFOS_MAX)
                        return too_many(a, PROTO_RANGE_INFOS_MAX, reason, rsize);
                if (grow((void **) &m->range_infos, m->n_range_infos, sizeof *m->range_infos) < 0)
                        return -ENOMEM;
                if (name.len > 0) {
                        r = parse_string(&name, PROTO_NAME_MAX_BYTES, &s, reason, rsize);
                        if (r < 0)
                                return r;
                }
                m->range_infos[m->n_range_infos++] = (ProtoRangeInfo){ range.start, range.len, s };
                return 0;
        }
        }
        /* Not reached: the caller only passes attributes the type defines. */
        return 0;
}

int proto_decode(const void *buf, size_t len, char *reason, size_t reason_size, ProtoMessage *ret) {
        _cleanup_proto_message_ ProtoMessage m = {};
        const uint8_t *p = buf;
        uint32_t seen = 0;
        ProtoHeader h;
        int r;

        if (len > PROTO_MESSAGE_MAX_BYTES)
                return fail(-EMSGSIZE, reason, reason_size,
                            "message of %zu bytes exceeds the limit of %u bytes", len,
                            PROTO_MESSAGE_MAX_BYTES);
        if (len < PROTO_HEADER_BYTES)
                return fail(-EBADMSG, reason, reason_size,
                            "truncated header: %zu bytes, the header has %u", len,
                            PROTO_HEADER_BYTES);
        if (proto_peek_header(buf, len, &h) < 0) {
                uint32_t magic;

                memcpy(&magic, p, sizeof magic);
                return fail(-EBADMSG, reason, reason_size,
                            "bad magic 0x%08" PRIx32 ", expected 0x%08" PRIx32, magic, PROTO_MAGIC);
        }
        /* The version is checked before anything else in the header: a later version may give
         * the rest of it a different meaning. */
        if (h.version != PROTO_VERSION)
                return fail(-EPROTONOSUPPORT, reason, reason_size,
                            "protocol version %u is not supported, this side speaks version %u",
                            h.version, PROTO_VERSION);
        if (h.payload_len != len - PROTO_HEADER_BYTES)
                return fail(-EBADMSG, reason, reason_size,
                            "payload length %" PRIu32 " does not match the %zu bytes that follow "
                            "the header",
                            h.payload_len, len - PROTO_HEADER_BYTES);
        if (!type_known(h.type))
                return fail(-EPROTO, reason, reason_size, "unknown message type %u", h.type);

        proto_message_init(&m, h.type, h.seq);

        for (size_t off = PROTO_HEADER_BYTES; off < len;) {
                AttrRef a = { .offset = off };
                size_t total;

                if (len - off < PROTO_ATTR_HEADER_BYTES)
                        return fail(-EBADMSG, reason, reason_size,
                                    "truncated attribute header at offset %zu", off);
                memcpy(&a.type, p + off, 2);
                memcpy(&a.len, p + off + 2, 2);
                a.value = p + off + PROTO_ATTR_HEADER_BYTES;
                total = attr_size(a.len);
                if (total > len - off)
                        return fail(-EBADMSG, reason, reason_size,
                                    "attribute %u at offset %zu: length %u (%zu with padding) "
                                    "overflows the message",
                                    a.type, off, a.len, total);
                for (size_t i = PROTO_ATTR_HEADER_BYTES + a.len; i < total; i++)
                        if (p[off + i] != 0)
                                return fail(-EBADMSG, reason, reason_size,
                                            "attribute %u at offset %zu: non-zero padding", a.type,
                                            off);
                off += total;

                if (a.type >= 32 || !(type_attrs[m.type] & A(a.type)))
                        continue; /* not defined for this type: skipped */
                if (SINGLETON_ATTRS & seen & A(a.type))
                        return fail(-EBADMSG, reason, reason_size,
                                    "duplicate %s attribute at offset %zu", attr_name(a.type),
                                    a.offset);
                seen |= A(a.type);

                r = parse_attr(&m, &a, reason, reason_size);
                if (r < 0)
                        return r;
        }

        if (m.type == PROTO_HELLO && !(seen & A(PROTO_ATTR_FLAGS)))
                return fail(-EPROTO, reason, reason_size, "HELLO without FLAGS");
        if (m.type == PROTO_FOLLOW && !(seen & A(PROTO_ATTR_MIN_BYTES)))
                return fail(-EPROTO, reason, reason_size, "FOLLOW without MIN_BYTES");
        if (m.type == PROTO_REPLY && !(seen & A(PROTO_ATTR_ERROR)))
                return fail(-EPROTO, reason, reason_size, "REPLY without ERROR");

        /* Everything semantic (mandatory attributes, flags, label syntax, duplicate keys, errno
         * range) is checked once, by the same function the encoder uses. */
        r = proto_message_validate(&m, reason, reason_size);
        if (r < 0)
                return r;

        *ret = m;
        m = (ProtoMessage){};
        return 0;
}

/* ---- comparison ---- */

static bool str_eq(const char *a, const char *b) {
        return a == b || (a && b && streq(a, b));
}

bool proto_message_equal(const ProtoMessage *a, const ProtoMessage *b) {
        if (a->version != b->version || a->type != b->type || a->seq != b->seq ||
            a->flags != b->flags || a->min_bytes != b->min_bytes || !str_eq(a->name, b->name) ||
            a->n_ranges != b->n_ranges || a->n_labels != b->n_labels || a->error != b->error ||
            !str_eq(a->message, b->message) || !str_eq(a->backend, b->backend) ||
            a->n_counters != b->n_counters || a->n_range_infos != b->n_range_infos)
                return false;
        for (size_t i = 0; i < a->n_ranges; i++)
                if (a->ranges[i].start != b->ranges[i].start ||
                    a->ranges[i].len != b->ranges[i].len)
                        return false;
        for (size_t i = 0; i < a->n_labels; i++)
                if (!str_eq(a->labels[i], b->labels[i]))
                        return false;
        for (size_t i = 0; i < a->n_counters; i++)
                if (!str_eq(a->counters[i].name, b->counters[i].name) ||
                    a->counters[i].value != b->counters[i].value)
                        return false;
        for (size_t i = 0; i < a->n_range_infos; i++)
                if (a->range_infos[i].start != b->range_infos[i].start ||
                    a->range_infos[i].len != b->range_infos[i].len ||
                    !str_eq(a->range_infos[i].name, b->range_infos[i].name))
                        return false;
        return true;
}
