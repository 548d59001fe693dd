/* Producer ids, unique across restarts of this broker.
 *
 * Ids are handed out from blocks of TXN_PID_BLOCK. Before any id of a block is
 * given out, the block's end is made durable in
 * <data dir>/__samsa_meta/producer-ids ("1 <next unreserved id>\n", written
 * tmp + fsync + rename + directory fsync), so an id is never issued twice,
 * whatever the crash; a restart skips at most the rest of a block. The next
 * block is reserved by a background thread when the current one is 90% used,
 * so InitProducerId never waits for a disk sync in the common case. */
#ifndef SAMSA_TXN_PID_H
#define SAMSA_TXN_PID_H

#include <stdint.h>

#include "base/err.h"

#define TXN_PID_BLOCK 1000
#define TXN_PID_FILE "producer-ids"

struct txn_pids;

/* Reads (creating) the high-water mark under data_dir and reserves the first
 * block. NULL with errmsg on failure, e.g. an unreadable or corrupt file:
 * refusing to start beats re-issuing producer ids. */
struct txn_pids *txn_pids_open(const char *data_dir, char errmsg[ERRMSG_SIZE]);

/* Waits for a background reservation in progress, then frees. */
void txn_pids_close(struct txn_pids *pids);

/* The next producer id. Thread-safe. Returns 0, or -errno when a block could
 * not be reserved (nothing is issued then). */
int txn_pids_next(struct txn_pids *pids, int64_t *producer_id);

#endif
