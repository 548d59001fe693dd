/* Every API this broker serves: one row per API, in api key order.
 *
 *   X(api_key, handler, our min version, our max version)
 *
 * Adding an API is one line here plus `enum handler_result
 * kafka_handle_<api>(struct request *req)` in src/kafka/<api>.c. The rows
 * expand to the handler prototypes below and to the dispatch table in
 * kafka/dispatch.c; ApiVersions advertises exactly these ranges. Versions are
 * ours, not the schema's: list only versions the handler really implements. */
#ifndef SAMSA_KAFKA_HANDLERS_H
#define SAMSA_KAFKA_HANDLERS_H

#include "kafka/request.h"
#include "proto/gen/api_table.h"

#define KAFKA_HANDLERS(X) \
	X(PROTO_API_PRODUCE, kafka_handle_produce, 0, 11) \
	X(PROTO_API_FETCH, kafka_handle_fetch, 4, 17) \
	X(PROTO_API_LIST_OFFSETS, kafka_handle_list_offsets, 0, 10) \
	X(PROTO_API_METADATA, kafka_handle_metadata, 0, 12) \
	X(PROTO_API_OFFSET_COMMIT, kafka_handle_offset_commit, 0, 9) \
	X(PROTO_API_OFFSET_FETCH, kafka_handle_offset_fetch, 0, 9) \
	X(PROTO_API_FIND_COORDINATOR, kafka_handle_find_coordinator, 0, 6) \
	X(PROTO_API_JOIN_GROUP, kafka_handle_join_group, 0, 9) \
	X(PROTO_API_HEARTBEAT, kafka_handle_heartbeat, 0, 4) \
	X(PROTO_API_LEAVE_GROUP, kafka_handle_leave_group, 0, 5) \
	X(PROTO_API_SYNC_GROUP, kafka_handle_sync_group, 0, 5) \
	X(PROTO_API_DESCRIBE_GROUPS, kafka_handle_describe_groups, 0, 5) \
	X(PROTO_API_LIST_GROUPS, kafka_handle_list_groups, 0, 5) \
	X(PROTO_API_API_VERSIONS, kafka_handle_api_versions, 0, 4) \
	X(PROTO_API_CREATE_TOPICS, kafka_handle_create_topics, 0, 7) \
	X(PROTO_API_DELETE_TOPICS, kafka_handle_delete_topics, 0, 6) \
	X(PROTO_API_DELETE_RECORDS, kafka_handle_delete_records, 0, 2) \
	X(PROTO_API_INIT_PRODUCER_ID, kafka_handle_init_producer_id, 0, 5) \
	X(PROTO_API_DESCRIBE_CONFIGS, kafka_handle_describe_configs, 0, 4) \
	X(PROTO_API_ALTER_CONFIGS, kafka_handle_alter_configs, 0, 2) \
	X(PROTO_API_CREATE_PARTITIONS, kafka_handle_create_partitions, 0, 3) \
	X(PROTO_API_INCREMENTAL_ALTER_CONFIGS, kafka_handle_incremental_alter_configs, 0, 1) \
	X(PROTO_API_DESCRIBE_CLUSTER, kafka_handle_describe_cluster, 0, 1) \
	X(PROTO_API_DELETE_GROUPS, kafka_handle_delete_groups, 0, 2) \
	X(PROTO_API_OFFSET_DELETE, kafka_handle_offset_delete, 0, 0) \
	X(PROTO_API_TXN_OFFSET_COMMIT, kafka_handle_txn_offset_commit, 0, 4) \
	X(PROTO_API_DESCRIBE_PRODUCERS, kafka_handle_describe_producers, 0, 0) \
	X(PROTO_API_ADD_PARTITIONS_TO_TXN, kafka_handle_add_partitions_to_txn, 0, 5) \
	X(PROTO_API_ADD_OFFSETS_TO_TXN, kafka_handle_add_offsets_to_txn, 0, 4) \
	X(PROTO_API_END_TXN, kafka_handle_end_txn, 0, 5) \
	X(PROTO_API_DESCRIBE_TRANSACTIONS, kafka_handle_describe_transactions, 0, 0) \
	X(PROTO_API_LIST_TRANSACTIONS, kafka_handle_list_transactions, 0, 1) \
	/* end of rows: each row ends with a backslash */

#define KAFKA_HANDLER_PROTOTYPE(key, fn, min, max) enum handler_result fn(struct request *req);
KAFKA_HANDLERS(KAFKA_HANDLER_PROTOTYPE)
#undef KAFKA_HANDLER_PROTOTYPE

/* Not a row: dispatch answers an ApiVersions at a version we do not serve
 * with this (a v0 response with UNSUPPORTED_VERSION and our table). */
enum handler_result kafka_api_versions_unsupported(struct request *req);

#endif
