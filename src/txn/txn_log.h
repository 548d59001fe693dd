/* The records of the internal topic __transaction_state, in Kafka's formats
 * (TransactionLogKey / TransactionLogValue), so the topic reads the same as
 * Kafka's and tools that decode it work.
 *
 * Key: int16 record type 0, then the transactional id (int16-length string).
 * Value: int16 version, then
 *   v0: producer_id int64, producer_epoch int16, timeout_ms int32,
 *       status int8 (enum txn_state), partitions [{topic string,
 *       [partition int32]}] (null for Empty), last_update_ms int64,
 *       start_ms int64
 *   v1: the same as a flexible version (compact strings and arrays, tagged
 *       fields) with tags 0 previous producer id, 1 next producer id, 2
 *       client transaction version.
 * We write v1 (the prev/next ids and the client's transaction version are
 * needed to recover a TV2 transaction); both are read. A null value
 * (tombstone) deletes the id. */
#ifndef SAMSA_TXN_LOG_H
#define SAMSA_TXN_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "txn/txn_meta.h"

#define TXN_LOG_KEY_TYPE 0
#define TXN_LOG_VALUE_VERSION 1

/* Encodes into a new malloc'd buffer (*len bytes). */
uint8_t *txn_log_key(const char *transactional_id, size_t *len);
uint8_t *txn_log_value(const struct txn_transit *t, size_t *len);

/* 0 with *id malloc'd, 1 for a record type that is not a transaction (to be
 * skipped), or -SAMSA_ECORRUPT. */
int txn_log_parse_key(const uint8_t *p, size_t len, char **id);
/* 0 with *out filled (its partitions owned: txn_transit_free()), or
 * -SAMSA_ECORRUPT (unknown version, bad state, truncated). */
int txn_log_parse_value(const uint8_t *p, size_t len, struct txn_transit *out);

#endif
