/* Reading a whole topic back, batch by batch: how a coordinator replays its
 * internal topic (__consumer_offsets, __transaction_state) at start-up. */
#ifndef SAMSA_META_SCAN_H
#define SAMSA_META_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct meta_topic;

/* Gets whole record batches of the topic's partition `partition`
 * (data[0..len), any codec, control batches included), in log order.
 * Returns 0 to go on; anything else stops the scan with that value. */
typedef int (*meta_scan_fn)(void *arg, int32_t partition, const uint8_t *data, size_t len);

/* Calls fn on each partition's batches in turn, from its log start offset
 * to the end offset it has when its scan starts, in reads of about
 * chunk_bytes (at least one whole batch each). Returns 0, fn's non-zero
 * value, or -errno / -SAMSA_E* with errmsg naming the partition and the
 * offset (fn's -SAMSA_ECORRUPT: a record from there does not parse). */
int meta_topic_scan(const struct meta_topic *topic, int32_t chunk_bytes, meta_scan_fn fn, void *arg,
		    char errmsg[ERRMSG_SIZE]);

#endif
