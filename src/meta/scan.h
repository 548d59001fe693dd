/* Reading a whole partition back, batch by batch: how a coordinator replays
 * its internal topic (__consumer_offsets, __transaction_state) at start-up. */
#ifndef SAMSA_META_SCAN_H
#define SAMSA_META_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct log_partition;

/* Gets whole record batches (data[0..len), any codec, control batches
 * included), in log order. Returns 0 to go on; anything else stops the scan
 * with that value. */
typedef int (*meta_scan_fn)(void *arg, const uint8_t *data, size_t len);

/* Calls fn on part's batches from its log start offset to the end offset it
 * has when the scan starts, in reads of about chunk_bytes (at least one whole
 * batch each). Returns 0, fn's non-zero value, or -errno / -SAMSA_E* with
 * errmsg (naming label, e.g. "__transaction_state-3"). */
int meta_partition_scan(struct log_partition *part, int32_t chunk_bytes, meta_scan_fn fn, void *arg,
			const char *label, char errmsg[ERRMSG_SIZE]);

#endif
