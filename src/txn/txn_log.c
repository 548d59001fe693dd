/* Encoding and decoding of __transaction_state records; see txn_log.h. */
#include "txn/txn_log.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "proto/reader.h"
#include "proto/writer.h"

static uint8_t *chain_take(struct buf_chain *chain, size_t *len)
{
	uint8_t *p = xmalloc(chain->len ? chain->len : 1);
	buf_chain_flatten(chain, p);
	*len = chain->len;
	buf_chain_fini(chain);
	return p;
}

uint8_t *txn_log_key(const char *transactional_id, size_t *len)
{
	struct buf_chain chain;
	buf_chain_init(&chain);
	struct pwriter w;
	pwriter_init(&w, &chain);
	pw_int16(&w, TXN_LOG_KEY_TYPE);
	pw_string(&w, false, false, kstr_from_cstr(transactional_id));
	return chain_take(&chain, len);
}

/* Partitions are sorted by topic: each run of one topic is one entry. */
static int32_t topic_runs(const struct txn_tps *set)
{
	int32_t runs = 0;
	for (int32_t i = 0; i < set->n; i++)
		if (i == 0 || strcmp(set->v[i].topic, set->v[i - 1].topic) != 0)
			runs++;
	return runs;
}

uint8_t *txn_log_value(const struct txn_transit *t, size_t *len)
{
	struct buf_chain chain;
	buf_chain_init(&chain);
	struct pwriter w;
	pwriter_init(&w, &chain);
	pw_int16(&w, TXN_LOG_VALUE_VERSION);
	pw_int64(&w, t->producer_id);
	pw_int16(&w, t->epoch);
	pw_int32(&w, t->timeout_ms);
	pw_int8(&w, (int8_t)t->state);
	if (t->state == TXN_EMPTY) {
		pw_array(&w, true, true, -1);
	} else {
		pw_array(&w, true, true, topic_runs(&t->partitions));
		for (int32_t i = 0; i < t->partitions.n;) {
			int32_t j = i;
			while (j < t->partitions.n && strcmp(t->partitions.v[j].topic, t->partitions.v[i].topic) == 0)
				j++;
			pw_string(&w, true, false, kstr_from_cstr(t->partitions.v[i].topic));
			pw_array(&w, true, false, j - i);
			for (int32_t k = i; k < j; k++)
				pw_int32(&w, t->partitions.v[k].partition);
			pw_uvarint(&w, 0); /* the entry's tagged fields */
			i = j;
		}
	}
	pw_int64(&w, t->update_ms);
	pw_int64(&w, t->start_ms);
	uint32_t tags = (t->prev_producer_id != -1) + (t->next_producer_id != -1) + (t->client_tv != 0);
	pw_uvarint(&w, tags);
	if (t->prev_producer_id != -1) {
		pw_tag(&w, 0, 8);
		pw_int64(&w, t->prev_producer_id);
	}
	if (t->next_producer_id != -1) {
		pw_tag(&w, 1, 8);
		pw_int64(&w, t->next_producer_id);
	}
	if (t->client_tv != 0) {
		pw_tag(&w, 2, 2);
		pw_int16(&w, t->client_tv);
	}
	return chain_take(&chain, len);
}

int txn_log_parse_key(const uint8_t *p, size_t len, char **id)
{
	struct preader r;
	preader_init(&r, p, len);
	int16_t type = pr_int16(&r);
	if (r.err)
		return -SAMSA_ECORRUPT;
	if (type != TXN_LOG_KEY_TYPE)
		return 1;
	struct kstr s;
	pr_string(&r, false, false, &s);
	if (r.err)
		return -SAMSA_ECORRUPT;
	*id = xstrndup(s.ptr ? s.ptr : "", (size_t)s.len);
	return 0;
}

int txn_log_parse_value(const uint8_t *p, size_t len, struct txn_transit *out)
{
	struct preader r;
	preader_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	int16_t version = pr_int16(&r);
	if (r.err || version < 0 || version > 1)
		return -SAMSA_ECORRUPT;
	bool flex = version >= 1;
	out->prev_producer_id = -1;
	out->next_producer_id = -1;
	out->last_epoch = -1;
	out->producer_id = pr_int64(&r);
	out->epoch = pr_int16(&r);
	out->timeout_ms = pr_int32(&r);
	int8_t status = pr_int8(&r);
	out->state = (enum txn_state)status;
	int32_t topics = pr_array(&r, flex, true, 1);
	for (int32_t i = 0; i < topics && !r.err; i++) {
		struct kstr topic;
		pr_string(&r, flex, false, &topic);
		int32_t n = pr_array(&r, flex, false, 4);
		if (r.err)
			break;
		char *name = xstrndup(topic.ptr ? topic.ptr : "", (size_t)topic.len);
		for (int32_t k = 0; k < n && !r.err; k++) {
			int32_t partition = pr_int32(&r);
			if (!r.err)
				txn_tps_add(&out->partitions, name, partition);
		}
		free(name);
		if (flex)
			pr_tags_skip(&r);
	}
	out->update_ms = pr_int64(&r);
	out->start_ms = pr_int64(&r);
	if (flex) {
		uint32_t ntag = pr_uvarint(&r);
		uint32_t tag;
		struct preader sub;
		while (!r.err && pr_tag_next(&r, &ntag, &tag, &sub)) {
			if (tag == 0)
				out->prev_producer_id = pr_int64(&sub);
			else if (tag == 1)
				out->next_producer_id = pr_int64(&sub);
			else if (tag == 2)
				out->client_tv = pr_int16(&sub);
			if (sub.err)
				pr_fail_sub(&r, &sub);
		}
	}
	if (r.err || status < TXN_EMPTY || status >= TXN_STATE_COUNT) {
		txn_transit_free(out);
		return -SAMSA_ECORRUPT;
	}
	return 0;
}
