/* On-disk topic definitions: <data dir>/__samsa_meta/<topic>.properties with
 *   topic.id=<32 hex digits>
 *   partitions=<n>
 *   config.<key>=<value>     (one per override)
 * Written as tmp + fsync + rename + directory fsync, so a crash leaves either
 * the old or the new file, never a torn one. */
#ifndef SAMSA_META_TOPIC_STORE_H
#define SAMSA_META_TOPIC_STORE_H

#include <stdint.h>

#include "base/config.h"
#include "base/err.h"

struct topic_record {
	char *name;
	uint8_t id[16];
	int32_t partition_count;
	int config_count;
	char **config_keys;
	char **config_values;
};

/* Reads every stored definition. Returns the count (>= 0, *out allocated) or
 * -errno with errmsg; free with topic_store_records_free(). */
int topic_store_load_all(const char *data_dir, struct topic_record **out, char errmsg[ERRMSG_SIZE]);
void topic_store_records_free(struct topic_record *recs, int count);

int topic_store_save(const char *data_dir, const struct topic_record *rec, char errmsg[ERRMSG_SIZE]);
int topic_store_remove(const char *data_dir, const char *name);

/* The broker's dynamic configs: <data dir>/__samsa_meta/broker.config with
 *   default.<key>=<value>    (cluster-wide default layer)
 *   broker.<key>=<value>     (this broker's layer)
 * written the same way. Its name does not end in .properties, so it is never
 * taken for a topic. */
struct broker_config_entry {
	enum config_layer layer;
	char *key;
	char *value;
};

/* Reads the stored entries: returns the count (0 when there is no file,
 * *out allocated) or -errno with errmsg; free with topic_store_broker_free(). */
int topic_store_load_broker(const char *data_dir, struct broker_config_entry **out, char errmsg[ERRMSG_SIZE]);
void topic_store_broker_free(struct broker_config_entry *entries, int count);
int topic_store_save_broker(const char *data_dir, const struct broker_config_entry *entries, int count,
			    char errmsg[ERRMSG_SIZE]);

#endif
