/* kgroup: consumer group benchmarks built on librdkafka.
 *
 *   kgroup rebalance --bootstrap H:P [--mode join|cold] [--consumers 10]
 *                    [--partitions 20] [--reps 5] [--heartbeat-ms 3000]
 *                    [--topic T] [--label L] [-X key=value]...
 *   kgroup commit    --bootstrap H:P [--mode sync|async] [--seconds 5]
 *                    [--window 100] [--topic T] [--label L] [-X key=value]...
 *
 * rebalance, mode join: C-1 consumers (threads, one rd_kafka_t each) subscribe
 * to a topic of P partitions in a fresh group and settle (every partition
 * assigned, every member consuming). Then the C-th consumer subscribes; the
 * clock starts at its subscribe() call and stops when all C members have an
 * assignment from a rebalance after that moment and have each received a
 * record since (assigned_ms: the last member's assignment; consuming_ms: the
 * last member's first record). The group is eager (librdkafka's default
 * range,roundrobin assignors): every member gives up its partitions and gets
 * new ones. After the C-1 settle, the C-th waits 500 ms plus a random part of
 * the heartbeat interval, so repetitions sample the members' heartbeat phase. Members commit nothing and start at the earliest offset, and the
 * topic holds records in every partition, so a member consumes as soon as it
 * has fetched its partitions' offsets.
 *
 * rebalance, mode cold: all C consumers subscribe at once to a fresh (empty)
 * group; the clock starts at the first subscribe(). This is where the broker's
 * group.initial.rebalance.delay.ms shows.
 *
 * The members learn of a rebalance from their heartbeat responses, so
 * --heartbeat-ms (librdkafka's heartbeat.interval.ms, default 3000) bounds the
 * join figure from below on any broker.
 *
 * commit: one consumer subscribes to a one-partition topic, waits for its
 * assignment, then commits offsets of that partition as fast as it can for
 * --seconds: sync, one rd_kafka_commit() at a time (each waits for the
 * broker's OffsetCommit response), or async, up to --window commits
 * outstanding (completions counted in the offset commit callback). Each
 * commit carries a different offset.
 *
 * Every result is one JSON line on stdout; progress goes to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define MAX_CONSUMERS 64
#define MAX_EXTRA 32
#define RECORDS_PER_PARTITION 200

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "kgroup: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

struct opts {
	const char *cmd;
	const char *bootstrap;
	const char *topic;
	const char *mode;
	const char *label;
	int consumers;
	int partitions;
	int reps;
	int heartbeat_ms;
	double seconds;
	int window;
	int n_extra;
	const char *extra[MAX_EXTRA];
};

static void usage(void)
{
	fprintf(stderr, "usage: kgroup rebalance --bootstrap H:P [--mode join|cold] [--consumers 10] [--partitions 20]\n"
			"                        [--reps 5] [--heartbeat-ms 3000] [--topic T] [--label L] [-X k=v]...\n"
			"       kgroup commit --bootstrap H:P [--mode sync|async] [--seconds 5] [--window 100]\n"
			"                     [--topic T] [--label L] [-X k=v]...\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	if (argc < 2)
		usage();
	o->cmd = argv[1];
	o->consumers = 10;
	o->partitions = 20;
	o->reps = 5;
	o->heartbeat_ms = 3000;
	o->seconds = 5;
	o->window = 100;
	o->label = "";
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
		if (ARG("--bootstrap"))
			o->bootstrap = v;
		else if (ARG("--topic"))
			o->topic = v;
		else if (ARG("--mode"))
			o->mode = v;
		else if (ARG("--label"))
			o->label = v;
		else if (ARG("--consumers"))
			o->consumers = atoi(v);
		else if (ARG("--partitions"))
			o->partitions = atoi(v);
		else if (ARG("--reps"))
			o->reps = atoi(v);
		else if (ARG("--heartbeat-ms"))
			o->heartbeat_ms = atoi(v);
		else if (ARG("--seconds"))
			o->seconds = atof(v);
		else if (ARG("--window"))
			o->window = atoi(v);
		else if (ARG("-X")) {
			if (o->n_extra == MAX_EXTRA)
				die("too many -X");
			o->extra[o->n_extra++] = v;
		} else
			usage();
#undef ARG
	}
	if (!o->bootstrap)
		usage();
	if (o->consumers < 1 || o->consumers > MAX_CONSUMERS)
		die("--consumers must be 1..%d", MAX_CONSUMERS);
	if (o->partitions < 1 || o->reps < 1 || o->heartbeat_ms < 1 || o->seconds <= 0 || o->window < 1)
		die("--partitions, --reps, --heartbeat-ms, --seconds and --window must be positive");
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[512];
	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die("config %s=%s: %s", k, v, errstr);
}

static uint64_t g_start_ns;

/* Warnings and errors; everything (with -X debug=...) when KGROUP_DEBUG is
 * set, each line stamped with ms since start. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= (getenv("KGROUP_DEBUG") ? 7 : 4))
		fprintf(stderr, "kgroup: %9.3f rdkafka %s: %s\n", (double)(now_ns() - g_start_ns) / 1e6, fac, buf);
}

static rd_kafka_conf_t *base_conf(const struct opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", o->bootstrap);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	for (int i = 0; i < o->n_extra; i++) {
		char k[256];
		const char *eq = strchr(o->extra[i], '=');
		if (!eq || (size_t)(eq - o->extra[i]) >= sizeof(k))
			die("-X wants key=value, got %s", o->extra[i]);
		memcpy(k, o->extra[i], (size_t)(eq - o->extra[i]));
		k[eq - o->extra[i]] = 0;
		conf_set(conf, k, eq + 1);
	}
	return conf;
}

/* Creates the topic with P partitions (unless it exists) and puts
 * RECORDS_PER_PARTITION small records into each partition that has fewer.
 * Returns the partition count the topic has. */
static int prepare_topic(const struct opts *o, const char *topic, int partitions)
{
	char errstr[512];
	rd_kafka_conf_t *conf = base_conf(o);
	conf_set(conf, "linger.ms", "5");
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		die("producer: %s", errstr);

	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
	if (!nt)
		die("NewTopic: %s", errstr);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
	if (!ev)
		die("CreateTopics %s: no answer in 30 s", topic);
	const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
	size_t n;
	const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
	if (n == 1 && rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
	    rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
		die("CreateTopics %s: %s", topic, rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
	rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);

	for (int tries = 0;; tries++) {
		const rd_kafka_metadata_t *md = NULL;
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
		rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
		int count = -1;
		if (!err && md->topic_cnt == 1 && !md->topics[0].err)
			count = md->topics[0].partition_cnt;
		if (md)
			rd_kafka_metadata_destroy(md);
		rd_kafka_topic_destroy(rkt);
		if (count > 0) {
			if (count != partitions)
				fprintf(stderr, "kgroup: %s exists with %d partitions; using them\n", topic, count);
			partitions = count;
			break;
		}
		if (tries == 50)
			die("no metadata for %s", topic);
		sleep_ms(100);
	}
	for (int p = 0; p < partitions; p++) {
		int64_t lo = 0, hi = 0;
		rd_kafka_resp_err_t err;
		for (int tries = 0;; tries++) {
			err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
			if (!err || tries == 50)
				break;
			sleep_ms(100); /* the new topic's metadata is on its way */
		}
		if (err)
			die("watermarks %s-%d: %s", topic, p, rd_kafka_err2str(err));
		for (int64_t i = hi; i < RECORDS_PER_PARTITION; i++) {
			char value[32];
			int len = snprintf(value, sizeof(value), "r%" PRId64, i);
			while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
						 RD_KAFKA_V_VALUE(value, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 10);
		}
	}
	if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("producing to %s did not finish", topic);
	rd_kafka_destroy(rk);
	return partitions;
}

/* ------------------------------------------------------------ rebalance */

struct member {
	int id;
	const struct opts *o;
	const char *group;
	const char *topic;
	rd_kafka_t *rk;
	pthread_t thread;
	pthread_mutex_t lock;
	int assigned;          /* partitions currently assigned */
	uint64_t event_ns;     /* last assign or revoke */
	uint64_t assign_ns;    /* last assign */
	uint64_t consumed_ns;  /* first record after the last event, 0: none yet */
	volatile int start;    /* subscribe now */
	uint64_t subscribe_ns; /* when subscribe() was called */
	volatile int stop;
};

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct member *m = opaque;
	bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&m->lock);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
		else
			rd_kafka_assign(rk, parts);
		m->assigned = cooperative ? m->assigned + parts->cnt : parts->cnt;
		m->assign_ns = now;
	} else {
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
		else
			rd_kafka_assign(rk, NULL);
		m->assigned = cooperative ? m->assigned - parts->cnt : 0;
	}
	m->event_ns = now;
	m->consumed_ns = 0;
	pthread_mutex_unlock(&m->lock);
}

static void *member_main(void *arg)
{
	struct member *m = arg;
	while (!m->start && !m->stop)
		sleep_ms(1);
	if (m->stop)
		return NULL;
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, m->topic, RD_KAFKA_PARTITION_UA);
	m->subscribe_ns = now_ns();
	rd_kafka_resp_err_t err = rd_kafka_subscribe(m->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err)
		die("subscribe: %s", rd_kafka_err2str(err));
	while (!m->stop) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, 5);
		if (!msg)
			continue;
		if (!msg->err) {
			uint64_t now = now_ns();
			pthread_mutex_lock(&m->lock);
			if (!m->consumed_ns)
				m->consumed_ns = now;
			pthread_mutex_unlock(&m->lock);
		} else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			fprintf(stderr, "kgroup: member %d: %s\n", m->id, rd_kafka_message_errstr(msg));
		}
		rd_kafka_message_destroy(msg);
	}
	rd_kafka_consumer_close(m->rk);
	rd_kafka_destroy(m->rk);
	m->rk = NULL;
	return NULL;
}

static void member_create(struct member *m, int id, const struct opts *o, const char *group, const char *topic)
{
	char errstr[512], v[32];
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->o = o;
	m->group = group;
	m->topic = topic;
	pthread_mutex_init(&m->lock, NULL);
	rd_kafka_conf_t *conf = base_conf(o);
	conf_set(conf, "group.id", group);
	snprintf(v, sizeof(v), "kgroup-%d", id);
	conf_set(conf, "client.id", v);
	conf_set(conf, "enable.auto.commit", "false");
	conf_set(conf, "auto.offset.reset", "earliest");
	snprintf(v, sizeof(v), "%d", o->heartbeat_ms);
	conf_set(conf, "heartbeat.interval.ms", v);
	/* the session must outlast 3 heartbeats (Kafka's rule of thumb) */
	snprintf(v, sizeof(v), "%d", o->heartbeat_ms * 3 > 45000 ? o->heartbeat_ms * 3 : 45000);
	conf_set(conf, "session.timeout.ms", v);
	conf_set(conf, "fetch.wait.max.ms", "100");
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_opaque(conf, m);
	m->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!m->rk)
		die("consumer: %s", errstr);
	rd_kafka_poll_set_consumer(m->rk);
	if (pthread_create(&m->thread, NULL, member_main, m))
		die("pthread_create");
}

/* True when the first n members together hold every partition, each holds
 * some, and each has consumed since its last rebalance event, which came
 * after since_ns. Sets the latest assignment and first-record times. */
static bool settled(struct member *ms, int n, int partitions, uint64_t since_ns, uint64_t *assigned_ns,
		    uint64_t *consumed_ns)
{
	int total = 0;
	bool ok = true;
	*assigned_ns = *consumed_ns = 0;
	for (int i = 0; i < n; i++) {
		struct member *m = &ms[i];
		pthread_mutex_lock(&m->lock);
		if (m->assigned <= 0 || m->event_ns <= since_ns || m->assign_ns <= since_ns || !m->consumed_ns)
			ok = false;
		total += m->assigned;
		if (m->assign_ns > *assigned_ns)
			*assigned_ns = m->assign_ns;
		if (m->consumed_ns > *consumed_ns)
			*consumed_ns = m->consumed_ns;
		pthread_mutex_unlock(&m->lock);
	}
	return ok && total == partitions;
}

static void stop_members(struct member *ms, int n)
{
	for (int i = 0; i < n; i++)
		ms[i].stop = 1;
	for (int i = 0; i < n; i++) {
		pthread_join(ms[i].thread, NULL);
		pthread_mutex_destroy(&ms[i].lock);
	}
}

static int cmd_rebalance(const struct opts *o)
{
	bool cold = o->mode && strcmp(o->mode, "cold") == 0;
	if (o->mode && !cold && strcmp(o->mode, "join") != 0)
		die("--mode is join or cold");
	if (o->consumers > o->partitions)
		die("--consumers %d > --partitions %d: some members would get nothing", o->consumers, o->partitions);
	char topic[128];
	snprintf(topic, sizeof(topic), "%s", o->topic ? o->topic : "kgroup-rebalance");
	int partitions = prepare_topic(o, topic, o->partitions);
	if (o->consumers > partitions)
		die("%d consumers > %d partitions: some members would get nothing", o->consumers, partitions);
	const double timeout_s = 120;
	int failures = 0;
	unsigned seed = (unsigned)now_ns() ^ (unsigned)getpid();
	for (int rep = 1; rep <= o->reps; rep++) {
		char group[128];
		snprintf(group, sizeof(group), "kgroup-%s-%d-%d-%d", cold ? "cold" : "join", (int)getpid(), rep,
			 (int)(now_ns() % 100000));
		struct member *ms = calloc((size_t)o->consumers, sizeof(*ms));
		int n = o->consumers;
		uint64_t t0, assigned_ns = 0, consumed_ns = 0, deadline;
		bool ok = true;
		for (int i = 0; i < n; i++)
			member_create(&ms[i], i, o, group, topic);
		if (!cold) {
			/* n-1 members settle first */
			for (int i = 0; i < n - 1; i++)
				ms[i].start = 1;
			deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
			while (n > 1 && !settled(ms, n - 1, partitions, 0, &assigned_ns, &consumed_ns)) {
				if (now_ns() > deadline) {
					fprintf(stderr, "kgroup: rep %d: %d members did not settle in %.0f s\n", rep, n - 1,
						timeout_s);
					ok = false;
					break;
				}
				sleep_ms(5);
			}
			/* no rebalance left in flight; then a random phase against the
			 * members' heartbeat timers, so the median is not one fixed phase */
			sleep_ms(500 + (int)(rand_r(&seed) % (unsigned)o->heartbeat_ms));
			t0 = now_ns();
			ms[n - 1].start = 1;
			while (!ms[n - 1].subscribe_ns)
				sleep_ms(1);
			t0 = ms[n - 1].subscribe_ns;
			if (getenv("KGROUP_DEBUG"))
				fprintf(stderr, "kgroup: %9.3f the last member subscribes\n", (double)(t0 - g_start_ns) / 1e6);
		} else {
			t0 = now_ns();
			for (int i = 0; i < n; i++)
				ms[i].start = 1;
		}
		deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
		while (ok && !settled(ms, n, partitions, t0, &assigned_ns, &consumed_ns)) {
			if (now_ns() > deadline) {
				fprintf(stderr, "kgroup: rep %d: the group of %d did not settle in %.0f s\n", rep, n,
					timeout_s);
				ok = false;
			}
			sleep_ms(1);
		}
		double assigned_ms = ok ? (double)(assigned_ns - t0) / 1e6 : -1;
		double consuming_ms = ok ? (double)(consumed_ns - t0) / 1e6 : -1;
		printf("{\"bench\":\"rebalance\",\"label\":\"%s\",\"mode\":\"%s\",\"consumers\":%d,\"partitions\":%d,"
		       "\"heartbeat_ms\":%d,\"rep\":%d,\"ok\":%s,\"assigned_ms\":%.1f,\"consuming_ms\":%.1f}\n",
		       o->label, cold ? "cold" : "join", n, partitions, o->heartbeat_ms, rep, ok ? "true" : "false",
		       assigned_ms, consuming_ms);
		fflush(stdout);
		fprintf(stderr, "kgroup: rebalance %s rep %d: all %d assigned after %.1f ms, all consuming after %.1f ms\n",
			cold ? "cold" : "join", rep, n, assigned_ms, consuming_ms);
		stop_members(ms, n);
		free(ms);
		if (!ok)
			failures++;
	}
	return failures ? 1 : 0;
}

/* --------------------------------------------------------------- commit */

static volatile long g_commits_done, g_commit_errors;

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
		      void *opaque)
{
	(void)rk, (void)offsets, (void)opaque;
	g_commits_done++;
	if (err) {
		if (g_commit_errors++ < 5)
			fprintf(stderr, "kgroup: commit: %s\n", rd_kafka_err2str(err));
	}
}

/* OffsetCommit requests sent, from librdkafka's statistics (each broker's
 * "req": {"OffsetCommit": N}), to check that every commit became a request. */
static char *g_stats;
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	(void)rk, (void)len, (void)opaque;
	free(g_stats);
	g_stats = strdup(json);
	return 0;
}

static long long stats_requests(const char *api)
{
	if (!g_stats)
		return -1;
	char key[64];
	snprintf(key, sizeof(key), "\"%s\":", api);
	long long sum = 0;
	for (const char *p = strstr(g_stats, "\"req\":"); p; p = strstr(p + 1, "\"req\":")) {
		const char *end = strchr(p, '}');
		const char *k = strstr(p, key);
		if (k && end && k < end)
			sum += strtoll(k + strlen(key), NULL, 10);
	}
	return sum;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmd_commit(const struct opts *o)
{
	bool async = o->mode && strcmp(o->mode, "async") == 0;
	if (o->mode && !async && strcmp(o->mode, "sync") != 0)
		die("--mode is sync or async");
	char topic[128], group[128], errstr[512];
	snprintf(topic, sizeof(topic), "%s", o->topic ? o->topic : "kgroup-commit");
	prepare_topic(o, topic, 1);
	snprintf(group, sizeof(group), "kgroup-commit-%d-%d", (int)getpid(), (int)(now_ns() % 100000));

	rd_kafka_conf_t *conf = base_conf(o);
	conf_set(conf, "group.id", group);
	conf_set(conf, "enable.auto.commit", "false");
	conf_set(conf, "auto.offset.reset", "earliest");
	if (async)
		rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
	conf_set(conf, "statistics.interval.ms", "100");
	rd_kafka_conf_set_stats_cb(conf, stats_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		die("consumer: %s", errstr);
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
	if (rd_kafka_subscribe(rk, sub))
		die("subscribe failed");
	rd_kafka_topic_partition_list_destroy(sub);
	/* wait for the assignment (a record arriving proves it) */
	uint64_t deadline = now_ns() + 60 * 1000000000ull;
	for (;;) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
		bool got = msg && !msg->err;
		if (msg)
			rd_kafka_message_destroy(msg);
		if (got)
			break;
		if (now_ns() > deadline)
			die("no assignment within 60 s");
	}

	rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(offs, topic, 0);
	size_t cap = 1 << 16, n_lat = 0;
	uint64_t *lat = malloc(cap * sizeof(*lat));
	long issued = 0;
	g_commits_done = g_commit_errors = 0;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(o->seconds * 1e9);
	if (!async) {
		while (now_ns() < end) {
			tp->offset = 1 + issued % RECORDS_PER_PARTITION;
			uint64_t s = now_ns();
			rd_kafka_resp_err_t err = rd_kafka_commit(rk, offs, 0);
			uint64_t d = now_ns() - s;
			issued++;
			if (err && g_commit_errors++ < 5)
				fprintf(stderr, "kgroup: commit: %s\n", rd_kafka_err2str(err));
			if (n_lat == cap)
				lat = realloc(lat, (cap *= 2) * sizeof(*lat));
			lat[n_lat++] = d;
			/* serve the group's callbacks now and then */
			if (issued % 256 == 0) {
				rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 0);
				if (msg)
					rd_kafka_message_destroy(msg);
			}
		}
		g_commits_done = issued;
	} else {
		while (now_ns() < end) {
			while (issued - g_commits_done < o->window) {
				tp->offset = 1 + issued % RECORDS_PER_PARTITION;
				rd_kafka_resp_err_t err = rd_kafka_commit(rk, offs, 1);
				if (err)
					die("async commit: %s", rd_kafka_err2str(err));
				issued++;
			}
			rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 1);
			if (msg)
				rd_kafka_message_destroy(msg);
		}
	}
	uint64_t t1 = now_ns();
	long done = g_commits_done;
	if (async) {
		uint64_t drain_end = now_ns() + 30 * 1000000000ull;
		while (g_commits_done < issued && now_ns() < drain_end) {
			rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 10);
			if (msg)
				rd_kafka_message_destroy(msg);
		}
	}
	/* one more statistics emission, after the last commit */
	free(g_stats);
	g_stats = NULL;
	for (uint64_t stats_end = now_ns() + 2000000000ull; !g_stats && now_ns() < stats_end;) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 10);
		if (msg)
			rd_kafka_message_destroy(msg);
	}
	long long requests = stats_requests("OffsetCommit");
	double secs = (double)(t1 - t0) / 1e9;
	double p50 = -1, p99 = -1;
	if (n_lat) {
		qsort(lat, n_lat, sizeof(*lat), cmp_u64);
		p50 = (double)lat[n_lat / 2] / 1e6;
		p99 = (double)lat[(size_t)((double)n_lat * 0.99)] / 1e6;
	}
	printf("{\"bench\":\"commit\",\"label\":\"%s\",\"mode\":\"%s\",\"window\":%d,\"commits\":%ld,\"seconds\":%.3f,"
	       "\"per_s\":%.0f,\"errors\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"requests\":%lld,\"issued\":%ld}\n",
	       o->label, async ? "async" : "sync", async ? o->window : 1, done, secs, (double)done / secs,
	       (long)g_commit_errors, p50, p99, requests, issued);
	fflush(stdout);
	fprintf(stderr, "kgroup: commit %s: %ld commits in %.2f s = %.0f/s (%ld errors; %lld OffsetCommit requests for %ld commits)\n",
		async ? "async" : "sync", done, secs, (double)done / secs, (long)g_commit_errors, requests, issued);
	free(lat);
	free(g_stats);
	rd_kafka_topic_partition_list_destroy(offs);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return g_commit_errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	g_start_ns = now_ns();
	parse(argc, argv, &o);
	if (strcmp(o.cmd, "rebalance") == 0)
		return cmd_rebalance(&o);
	if (strcmp(o.cmd, "commit") == 0)
		return cmd_commit(&o);
	usage();
	return 2;
}
