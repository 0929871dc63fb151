/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly-linked lists: an object embeds LIST_FIELDS(Type, name) and the owner keeps a
 * `Type *name` head. O(1) removal without a search, which matters when a client is torn down from
 * inside its own event callback. */

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                                    \
        do {                                                              \
                __typeof__(*(head)) **_head_ = &(head), *_item_ = (item); \
                _item_->name##_next = *_head_;                            \
                _item_->name##_prev = NULL;                               \
                if (*_head_)                                              \
                        (*_head_)->name##_prev = _item_;                  \
                *_head_ = _item_;                                         \
        } while (0)

#define LIST_REMOVE(name, head, item)                                           \
        do {                                                                    \
                __typeof__(*(head)) **_head_ = &(head), *_item_ = (item);       \
                if (_item_->name##_next)                                        \
                        _item_->name##_next->name##_prev = _item_->name##_prev; \
                if (_item_->name##_prev)                                        \
                        _item_->name##_prev->name##_next = _item_->name##_next; \
                else if (*_head_ == _item_)                                     \
                        *_head_ = _item_->name##_next;                          \
                _item_->name##_next = _item_->name##_prev = NULL;               \
        } while (0)

#define LIST_FOREACH(name, i, head) for ((i) = (head); (i); (i) = (i)->name##_next)
/* Safe against removal of the current item. */
#define LIST_FOREACH_SAFE(name, i, n, head) \
        for ((i) = (head); (i) && (((n) = (i)->name##_next), 1); (i) = (n))
