/* Group commit: one flusher per data dir (a coordinating thread and a small
 * pool of sync threads) makes appended bytes durable with fdatasync, so
 * acks=all produce requests never block a reactor thread, many of them share
 * one sync, and the partitions of one round are synced side by side. */
#ifndef SAMSA_LOG_FLUSHER_H
#define SAMSA_LOG_FLUSHER_H

#include <stdint.h>

struct log_flusher;
struct log_partition;

/* Called on one of the flusher's threads once everything up to the awaited
 * offset is durable (err 0), or the sync failed (err = -errno); callbacks of
 * different partitions may run at the same time, those of one partition run
 * one after the other in the order the waits were queued. Must not block: post
 * the result to the reactor that owns the request. Must not close or delete a
 * partition either (that may wait for another flusher thread).
 * Other errors: -ENOENT when the partition was closed before the offset was
 * synced or was deleted, -SAMSA_ERANGE when end_offset was never appended,
 * -ESHUTDOWN for a wait queued after log_flusher_stop() began. A failed
 * fdatasync is sticky: every later wait on that partition gets the error. */
typedef void (*log_flush_cb)(void *arg, int err);

struct log_flusher *log_flusher_start(void);
/* Syncs what is pending, runs outstanding callbacks, joins the threads.
 * Close every partition opened with this flusher first: a partition keeps a
 * plain pointer to it (log_partition_close detaches from it). */
void log_flusher_stop(struct log_flusher *flusher);

/* Asks for part to be durable up to end_offset (exclusive) and cb(arg, err)
 * called when it is. If it already is, cb runs on a flusher thread soon
 * anyway (never synchronously inside this call). */
void log_flusher_wait(struct log_flusher *flusher, struct log_partition *part, int64_t end_offset,
		      log_flush_cb cb, void *arg);

/* Marks part dirty so the flusher syncs it soon without anyone waiting
 * (flush.messages / flush.ms policies). log_partition_append() kicks by
 * itself when the partition's flush.messages count is reached, and, with
 * flush.ms set, arms a kick flush.ms after an append when none is armed. */
void log_flusher_kick(struct log_flusher *flusher, struct log_partition *part);

#endif
