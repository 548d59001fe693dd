/* `samsa topic create|list|describe|delete`: topic administration over the
 * Kafka protocol (CreateTopics, Metadata, DeleteTopics), so it works against
 * any Kafka broker, not only Samsa. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/commands.h"
#include "proto/gen/create_topics_request.h"
#include "proto/gen/create_topics_response.h"
#include "proto/gen/delete_topics_request.h"
#include "proto/gen/delete_topics_response.h"
#include "proto/gen/errors.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"

#define API_METADATA 3
#define API_CREATE_TOPICS 19
#define API_DELETE_TOPICS 20
#define TOPIC_MAX_CONFIGS 64

struct topic_opts {
	const char *bootstrap;
	int32_t partitions;
	int16_t replication_factor;
	int config_count;
	struct kstr config_keys[TOPIC_MAX_CONFIGS];
	struct kstr config_values[TOPIC_MAX_CONFIGS];
	int name_count;
	char **names;
};

static void topic_usage(FILE *out)
{
	fprintf(out,
		"usage: samsa topic create <name> [--partitions N] [--replication-factor N] [--config key=value]...\n"
		"       samsa topic list\n"
		"       samsa topic describe [<name>...]\n"
		"       samsa topic delete <name>...\n"
		"common option: --bootstrap-server host:port (default localhost:9092)\n");
}

static int topic_fail(const char *what, int16_t code, struct kstr message)
{
	fprintf(stderr, "samsa: %s: %s", what, kerr_name(code));
	if (message.len > 0)
		fprintf(stderr, ": " KSTR_FMT, KSTR_ARG(message));
	fputc('\n', stderr);
	return 1;
}

static int topic_create(struct kclient *client, struct arena *arena, const struct topic_opts *opts)
{
	char errmsg[ERRMSG_SIZE];
	struct create_topics_request req;
	create_topics_request_init(&req);
	req.timeout_ms = 30000;
	req.topics_count = opts->name_count;
	req.topics = arena_alloc(arena, sizeof(*req.topics) * (size_t)opts->name_count);
	for (int i = 0; i < opts->name_count; i++) {
		struct create_topics_request_creatable_topic *t = &req.topics[i];
		t->name = kstr_from_cstr(opts->names[i]);
		t->num_partitions = opts->partitions;
		t->replication_factor = opts->replication_factor;
		t->configs_count = opts->config_count;
		t->configs = arena_alloc(arena, sizeof(*t->configs) * (size_t)(opts->config_count + 1));
		for (int c = 0; c < opts->config_count; c++) {
			t->configs[c].name = opts->config_keys[c];
			t->configs[c].value = opts->config_values[c];
		}
	}
	struct create_topics_response *resp;
	if (kclient_call(client, API_CREATE_TOPICS, &req, arena, (void **)&resp, NULL, errmsg) < 0) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		return 1;
	}
	int rc = 0;
	for (int32_t i = 0; i < resp->topics_count; i++) {
		const struct create_topics_response_creatable_topic_result *r = &resp->topics[i];
		char what[300];
		snprintf(what, sizeof(what), "cannot create topic '" KSTR_FMT "'", KSTR_ARG(r->name));
		if (r->error_code != KERR_NONE)
			rc = topic_fail(what, r->error_code, r->error_message);
		else
			printf("Created topic " KSTR_FMT ".\n", KSTR_ARG(r->name));
	}
	return rc;
}

/* Metadata for the given topics (all when count == 0). */
static struct metadata_response *topic_metadata(struct kclient *client, struct arena *arena, int count, char **names)
{
	char errmsg[ERRMSG_SIZE];
	struct metadata_request req;
	metadata_request_init(&req);
	req.allow_auto_topic_creation = false;
	req.topics_count = count ? count : -1;
	req.topics = arena_alloc(arena, sizeof(*req.topics) * (size_t)(count + 1));
	for (int i = 0; i < count; i++)
		req.topics[i].name = kstr_from_cstr(names[i]);
	struct metadata_response *resp;
	if (kclient_call(client, API_METADATA, &req, arena, (void **)&resp, NULL, errmsg) < 0) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		return NULL;
	}
	return resp;
}

static int topic_list(struct kclient *client, struct arena *arena)
{
	struct metadata_response *resp = topic_metadata(client, arena, 0, NULL);
	if (!resp)
		return 1;
	for (int32_t i = 0; i < resp->topics_count; i++)
		printf(KSTR_FMT "\n", KSTR_ARG(resp->topics[i].name));
	return 0;
}

static void print_nodes(const char *label, int32_t count, const int32_t *nodes)
{
	printf("\t%s: ", label);
	for (int32_t i = 0; i < count; i++)
		printf("%s%d", i ? "," : "", nodes[i]);
}

static int topic_describe(struct kclient *client, struct arena *arena, const struct topic_opts *opts)
{
	struct metadata_response *resp = topic_metadata(client, arena, opts->name_count, opts->names);
	if (!resp)
		return 1;
	int rc = 0;
	for (int32_t i = 0; i < resp->topics_count; i++) {
		const struct metadata_response_metadata_response_topic *t = &resp->topics[i];
		if (t->error_code != KERR_NONE) {
			char what[300];
			snprintf(what, sizeof(what), "topic '" KSTR_FMT "'", KSTR_ARG(t->name));
			rc = topic_fail(what, t->error_code, KSTR_NULL);
			continue;
		}
		printf("Topic: " KSTR_FMT "\tTopicId: ", KSTR_ARG(t->name));
		for (int b = 0; b < 16; b++)
			printf("%02x", t->topic_id[b]);
		printf("\tPartitionCount: %d\n", t->partitions_count);
		for (int32_t p = 0; p < t->partitions_count; p++) {
			const struct metadata_response_metadata_response_partition *part = &t->partitions[p];
			printf("\tTopic: " KSTR_FMT "\tPartition: %d\tLeader: %d", KSTR_ARG(t->name), part->partition_index,
			       part->leader_id);
			print_nodes("Replicas", part->replica_nodes_count, part->replica_nodes);
			print_nodes("Isr", part->isr_nodes_count, part->isr_nodes);
			printf("\n");
		}
	}
	return rc;
}

static int topic_delete(struct kclient *client, struct arena *arena, const struct topic_opts *opts)
{
	char errmsg[ERRMSG_SIZE];
	struct delete_topics_request req;
	delete_topics_request_init(&req);
	req.timeout_ms = 30000;
	req.topic_names_count = opts->name_count;
	req.topic_names = arena_alloc(arena, sizeof(*req.topic_names) * (size_t)opts->name_count);
	req.topics_count = opts->name_count;
	req.topics = arena_alloc(arena, sizeof(*req.topics) * (size_t)opts->name_count);
	for (int i = 0; i < opts->name_count; i++) {
		req.topic_names[i] = kstr_from_cstr(opts->names[i]);
		req.topics[i].name = kstr_from_cstr(opts->names[i]);
	}
	struct delete_topics_response *resp;
	if (kclient_call(client, API_DELETE_TOPICS, &req, arena, (void **)&resp, NULL, errmsg) < 0) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		return 1;
	}
	int rc = 0;
	for (int32_t i = 0; i < resp->responses_count; i++) {
		const struct delete_topics_response_deletable_topic_result *r = &resp->responses[i];
		char what[300];
		snprintf(what, sizeof(what), "cannot delete topic '" KSTR_FMT "'", KSTR_ARG(r->name));
		if (r->error_code != KERR_NONE)
			rc = topic_fail(what, r->error_code, r->error_message);
		else
			printf("Deleted topic " KSTR_FMT ".\n", KSTR_ARG(r->name));
	}
	return rc;
}

static int topic_parse_config(struct topic_opts *opts, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		fprintf(stderr, "samsa: --config takes key=value, got '%s'\n", arg);
		return -1;
	}
	if (opts->config_count == TOPIC_MAX_CONFIGS) {
		fprintf(stderr, "samsa: at most %d --config options\n", TOPIC_MAX_CONFIGS);
		return -1;
	}
	opts->config_keys[opts->config_count] = kstr_from_buf(arg, (size_t)(eq - arg));
	opts->config_values[opts->config_count] = kstr_from_cstr(eq + 1);
	opts->config_count++;
	return 0;
}

static int parse_int(const char *s, const char *what, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "samsa: %s must be a number from %ld to %ld, got '%s'\n", what, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int topic_parse(int argc, char **argv, struct topic_opts *opts)
{
	static const struct option longopts[] = {
		{"bootstrap-server", required_argument, NULL, 'b'},
		{"partitions", required_argument, NULL, 'p'},
		{"replication-factor", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'},
		{"topic", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(opts, 0, sizeof(*opts));
	opts->bootstrap = "localhost:9092";
	opts->partitions = -1;
	opts->replication_factor = -1;
	opts->names = calloc((size_t)argc + 1, sizeof(char *));
	int c;
	long v;
	optind = 2; /* argv[0] = "topic", argv[1] = the action */
	while ((c = getopt_long(argc, argv, "b:p:r:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opts->bootstrap = optarg;
			break;
		case 'p':
			if (parse_int(optarg, "--partitions", 1, 1000000, &v) < 0)
				return -1;
			opts->partitions = (int32_t)v;
			break;
		case 'r':
			if (parse_int(optarg, "--replication-factor", 1, 32767, &v) < 0)
				return -1;
			opts->replication_factor = (int16_t)v;
			break;
		case 'c':
			if (topic_parse_config(opts, optarg) < 0)
				return -1;
			break;
		case 't':
			opts->names[opts->name_count++] = optarg;
			break;
		case 'h':
			topic_usage(stdout);
			exit(0);
		default:
			topic_usage(stderr);
			return -1;
		}
	}
	for (int i = optind; i < argc; i++)
		opts->names[opts->name_count++] = argv[i];
	return 0;
}

int cli_topic_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		topic_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *action = argv[1];
	bool needs_name = strcmp(action, "create") == 0 || strcmp(action, "delete") == 0;
	if (!needs_name && strcmp(action, "list") != 0 && strcmp(action, "describe") != 0) {
		fprintf(stderr, "samsa: unknown topic action '%s'\n", action);
		topic_usage(stderr);
		return 2;
	}
	struct topic_opts opts;
	if (topic_parse(argc, argv, &opts) < 0) {
		free(opts.names);
		return 2;
	}
	if (needs_name && opts.name_count == 0) {
		fprintf(stderr, "samsa: topic %s needs a topic name\n", action);
		free(opts.names);
		return 2;
	}
	char errmsg[ERRMSG_SIZE];
	struct kclient *client = kclient_connect(opts.bootstrap, 30000, errmsg);
	if (!client) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		free(opts.names);
		return 1;
	}
	struct arena *arena = arena_new(16384);
	int rc;
	if (strcmp(action, "create") == 0)
		rc = topic_create(client, arena, &opts);
	else if (strcmp(action, "delete") == 0)
		rc = topic_delete(client, arena, &opts);
	else if (strcmp(action, "list") == 0)
		rc = topic_list(client, arena);
	else
		rc = topic_describe(client, arena, &opts);
	arena_free(arena);
	kclient_close(client);
	free(opts.names);
	return rc;
}
