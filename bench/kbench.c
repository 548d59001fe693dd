/* kbench: a Kafka throughput/latency benchmark built on librdkafka.
 *
 *   kbench produce --bootstrap H:P --topic T --records N --size S --acks 0|1|all
 *                  [--partitions P] [--linger-ms 5] [--batch-size 1000000]
 *                  [--compression none] [--no-create] [--label L] [--keys K]
 *                  [--idempotent] [--transactional [--txn-records 1000]]
 *   kbench consume --bootstrap H:P --topic T [--records N]
 *   kbench latency --bootstrap H:P --topic T [--rate 1000] [--duration 10]
 *                  [--acks 1|all] [--fetch-wait-ms 1] [--linger-ms 0]
 *   kbench produce|consume|latency ... --against mock|H:P [--reps 3] [--no-fill]
 *   kbench mock    [--brokers 1] [--topic NAME:PARTITIONS]... [--count N --partitions P]
 *   kbench spawn   --bootstrap H:P [--log FILE] [--settle-ms 300] -- CMD ARGS...
 *   kbench ping    --bootstrap H:P [--timeout S]
 *   kbench delete  --bootstrap H:P --topic T [--topic T2]...
 *   kbench pump    [--bytes N] [--chunk 1048576]
 *   kbench conns   --bootstrap H:P [--count 1000] [--pid BROKER_PID] [--settle-ms 300]
 *   kbench metadata --bootstrap H:P [--count TOPICS --partitions P] [--prefix kbench-md-]
 *                  [--repeat 20] [--pid BROKER_PID]
 *
 * --against runs the workload on --bootstrap and on a peer (`mock`: a mock
 * cluster started in its own process), alternating, and prints the ratio
 * (see cmd_against). --idempotent sets enable.idempotence (so acks=all);
 * --transactional also a transactional.id, committing every --txn-records.
 *
 * conns: idle connections and the broker's memory per connection (VmRSS of
 * --pid). metadata: creates --count topics, then times Metadata requests for
 * all topics over a raw connection.
 *
 * --stats adds the number of Produce/Fetch requests the client sent (from
 * librdkafka's statistics) to the result, for per-request cost figures.
 * -X key=value passes any librdkafka setting through.
 *
 * Every result is one JSON line on stdout; a human-readable summary and
 * progress go to stderr. MB/s counts record value bytes, 1 MB = 10^6 bytes.
 *
 * produce/consume: the topic is created with CreateTopics (P partitions,
 * replication factor 1) unless --no-create; a broker without CreateTopics
 * (librdkafka's mock cluster) falls back to metadata (auto-create, or topics
 * pre-created by `kbench mock --topic`). Records go round-robin over the
 * partitions by explicit partition number. Produce time runs from the first
 * produce call to the last delivery report.
 *
 * consume: a pass is a fresh consumer that assign()s every partition at
 * offset 0 and reads up to the high watermark; it is timed from assign() to
 * the last record. Passes repeat until --records have been read (one pass if
 * --records is 0 or the topic holds that many). Repeating exists for the
 * mock cluster, which keeps only the last ~5 MiB of each partition: the
 * comparison re-reads a topic small enough for the mock to hold whole.
 * Besides the rate it reports the client's own cost over the timed part:
 * client_cpu_s (the whole process) and fetch_thread_busy (the on-CPU share
 * of the wall time of librdkafka's busiest broker thread, which receives and
 * parses the fetch responses: near 1.0 means the client is the bottleneck).
 *
 * latency: produces at a fixed rate while a consumer in the same process
 * reads (fetch.wait.max.ms = --fetch-wait-ms); end-to-end latency from each
 * record's scheduled send time to its arrival, after 1 s of warm-up.
 *
 * mock: starts rd_kafka_mock_cluster_new() in this process, prints
 * `bootstrap=HOST:PORT` on stdout and serves until SIGTERM/SIGINT or until
 * its parent dies (so it never outlives the script that started it).
 *
 * spawn: fork+exec of a broker command, then loops connecting to --bootstrap
 * and sending an ApiVersions v0 request until one is answered: prints the
 * wall time from fork to that answer and, --settle-ms later, the broker's
 * VmRSS. It then stays the broker's parent: SIGUSR1 prints the current RSS,
 * SIGTERM/SIGINT forward SIGTERM and print the shutdown time and exit status.
 *
 * pump: raw loopback TCP bandwidth (one writer thread, one reader), the
 * ceiling any broker on this machine can reach.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* ------------------------------------------------------------------ util */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On-CPU time of this process's librdkafka broker threads ("rdk:broker<id>",
 * which receive and parse fetch responses), from /proc/self/task/<tid>/
 * schedstat in nanoseconds; the busiest one's, since a consumer reads from
 * one broker. Tasks are matched by tid between two snapshots. */
#define TASKS_MAX 64
struct thread_cpu {
	int n;
	long tid[TASKS_MAX];
	long long ns[TASKS_MAX];
};

static void fetch_threads_cpu(struct thread_cpu *tc)
{
	tc->n = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && tc->n < TASKS_MAX) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], comm[32] = "";
		long long ns = 0;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		bool broker = fgets(comm, sizeof(comm), f) && !strncmp(comm, "rdk:broker", 10) &&
			      comm[10] != '-'; /* rdk:broker-1: the bootstrap connection */
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		if (!broker || !(f = fopen(path, "r")))
			continue;
		if (fscanf(f, "%lld", &ns) == 1) {
			tc->tid[tc->n] = atol(e->d_name);
			tc->ns[tc->n++] = ns;
		}
		fclose(f);
	}
	closedir(d);
}

/* The largest on-CPU growth of one broker thread from before to after, in s. */
static double fetch_thread_busy_s(const struct thread_cpu *before, const struct thread_cpu *after)
{
	long long best = 0;
	for (int i = 0; i < after->n; i++) {
		long long base = 0;
		for (int k = 0; k < before->n; k++)
			if (before->tid[k] == after->tid[i])
				base = before->ns[k];
		if (after->ns[i] - base > best)
			best = after->ns[i] - base;
	}
	return (double)best / 1e9;
}

/* User plus system CPU of the whole process so far, in s. */
static double process_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "kbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static volatile sig_atomic_t g_stop;
static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

struct opts {
	const char *bootstrap;
	const char *topic;
	const char *label;
	const char *acks;
	const char *compression;
	const char *log;
	long long records;
	long long bytes;
	int size;
	int partitions;
	int linger_ms;
	int batch_size;
	int brokers;
	int settle_ms;
	int timeout_s;
	int chunk;
	int rate;
	int duration;
	int fetch_wait_ms;
	bool create;
	bool quiet;
	bool stats;
	bool linger_explicit;
	bool idempotent;
	bool fill;            /* consume --against: produce the source topic first */
	const char *transactional; /* produce: transactional.id prefix, NULL: none */
	int txn_records;      /* produce --transactional: records per transaction */
	const char *against;  /* produce/consume/latency: the peer to compare with */
	int reps;             /* --against: alternating repetitions */
	int count;            /* conns: connections; metadata: topics */
	int keys;             /* produce: records keyed k0000000.. cycling over this many; 0: no keys */
	int repeat;           /* metadata: requests timed */
	const char *prefix;   /* metadata: topic name prefix */
	pid_t pid;            /* conns/metadata: the broker process, for its RSS */
	const char *mock_topics[256];
	int n_mock_topics;
	const char *extra[64]; /* --X key=value: extra librdkafka config */
	int n_extra;
	char **cmd; /* spawn: after -- */
};

static void usage(void)
{
	fprintf(stderr,
		"usage:\n"
		"  kbench produce --bootstrap H:P --topic T [--records N] [--size S] [--acks 0|1|all]\n"
		"                 [--partitions P] [--linger-ms 5] [--batch-size 1000000]\n"
		"                 [--compression none] [--no-create] [--label L] [--stats] [-X key=value]\n"
		"  kbench consume --bootstrap H:P --topic T [--records N] [--label L]\n"
		"  kbench latency --bootstrap H:P --topic T [--rate 1000] [--duration 10] [--acks 1|all]\n"
		"                 [--partitions P] [--size S] [--fetch-wait-ms 1] [--linger-ms 0]\n"
		"  kbench mock    [--brokers 1] [--topic NAME:PARTITIONS]... [--count N --partitions P]\n"
		"  kbench spawn   --bootstrap H:P [--log FILE] [--settle-ms 300] [--timeout S] -- CMD ARGS...\n"
		"  kbench ping    --bootstrap H:P [--timeout S]\n"
		"  kbench delete  --bootstrap H:P --topic T [--topic T2]...\n"
		"  kbench pump    [--bytes N] [--chunk BYTES]\n"
		"  kbench conns   --bootstrap H:P [--count N] [--pid PID] [--settle-ms MS]\n"
		"  kbench metadata --bootstrap H:P [--count TOPICS --partitions P] [--prefix S] [--repeat N] [--pid PID]\n"
		"produce/consume/latency also take --against mock|H:P [--reps R] [--no-fill];\n"
		"produce also --idempotent, --transactional [--txn-records N], --keys K\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->records = -1; /* produce: 300000; consume: one pass */
	o->size = 1024;
	o->acks = "1";
	o->partitions = 1;
	o->linger_ms = 5;
	o->batch_size = 1000000;
	o->compression = "none";
	o->brokers = 1;
	o->settle_ms = 300;
	o->timeout_s = 120;
	o->bytes = 4LL << 30;
	o->chunk = 1 << 20;
	o->rate = 1000;
	o->duration = 10;
	o->fetch_wait_ms = 1;
	o->linger_explicit = false;
	o->create = true;
	o->fill = true;
	o->label = "";
	o->txn_records = 1000;
	o->reps = 3;
	o->count = -1;
	o->repeat = 20;
	o->prefix = "kbench-md-";
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
#define ARG() (i + 1 < argc ? argv[++i] : (usage(), ""))
		if (!strcmp(a, "--")) {
			o->cmd = &argv[i + 1];
			break;
		} else if (!strcmp(a, "--bootstrap") || !strcmp(a, "-b"))
			o->bootstrap = ARG();
		else if (!strcmp(a, "--topic") || !strcmp(a, "-t")) {
			const char *v = ARG();
			o->topic = v;
			if (o->n_mock_topics < 256)
				o->mock_topics[o->n_mock_topics++] = v;
		} else if (!strcmp(a, "--records") || !strcmp(a, "-n"))
			o->records = atoll(ARG());
		else if (!strcmp(a, "--size") || !strcmp(a, "-s"))
			o->size = atoi(ARG());
		else if (!strcmp(a, "--acks"))
			o->acks = ARG();
		else if (!strcmp(a, "--partitions") || !strcmp(a, "-p"))
			o->partitions = atoi(ARG());
		else if (!strcmp(a, "--linger-ms")) {
			o->linger_ms = atoi(ARG());
			o->linger_explicit = true;
		} else if (!strcmp(a, "--rate"))
			o->rate = atoi(ARG());
		else if (!strcmp(a, "--duration"))
			o->duration = atoi(ARG());
		else if (!strcmp(a, "--fetch-wait-ms"))
			o->fetch_wait_ms = atoi(ARG());
		else if (!strcmp(a, "--batch-size"))
			o->batch_size = atoi(ARG());
		else if (!strcmp(a, "--compression"))
			o->compression = ARG();
		else if (!strcmp(a, "--no-create"))
			o->create = false;
		else if (!strcmp(a, "--label"))
			o->label = ARG();
		else if (!strcmp(a, "--brokers"))
			o->brokers = atoi(ARG());
		else if (!strcmp(a, "--log"))
			o->log = ARG();
		else if (!strcmp(a, "--settle-ms"))
			o->settle_ms = atoi(ARG());
		else if (!strcmp(a, "--timeout"))
			o->timeout_s = atoi(ARG());
		else if (!strcmp(a, "--bytes"))
			o->bytes = atoll(ARG());
		else if (!strcmp(a, "--chunk"))
			o->chunk = atoi(ARG());
		else if (!strcmp(a, "--stats"))
			o->stats = true;
		else if (!strcmp(a, "--idempotent"))
			o->idempotent = true;
		else if (!strcmp(a, "--transactional"))
			o->transactional = "kbench";
		else if (!strcmp(a, "--txn-records"))
			o->txn_records = atoi(ARG());
		else if (!strcmp(a, "--against"))
			o->against = ARG();
		else if (!strcmp(a, "--reps"))
			o->reps = atoi(ARG());
		else if (!strcmp(a, "--no-fill"))
			o->fill = false;
		else if (!strcmp(a, "--keys"))
			o->keys = atoi(ARG());
		else if (!strcmp(a, "--count"))
			o->count = atoi(ARG());
		else if (!strcmp(a, "--repeat"))
			o->repeat = atoi(ARG());
		else if (!strcmp(a, "--prefix"))
			o->prefix = ARG();
		else if (!strcmp(a, "--pid"))
			o->pid = (pid_t)atoi(ARG());
		else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
			o->quiet = true;
		else if (!strcmp(a, "-X")) {
			if (o->n_extra < 64)
				o->extra[o->n_extra++] = ARG();
		} else {
			fprintf(stderr, "kbench: unknown argument %s\n", a);
			usage();
		}
#undef ARG
	}
	if (o->size < 0 || o->records < -1 || o->partitions < 1)
		die("bad --size/--records/--partitions");
	if (o->reps < 1 || o->txn_records < 1 || o->repeat < 1)
		die("bad --reps/--txn-records/--repeat");
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[512];
	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die("config %s=%s: %s", k, v, errstr);
}

static void conf_extra(rd_kafka_conf_t *conf, const struct opts *o)
{
	for (int i = 0; i < o->n_extra; i++) {
		char k[256];
		const char *eq = strchr(o->extra[i], '=');
		if (!eq || (size_t)(eq - o->extra[i]) >= sizeof(k))
			die("-X wants key=value, got %s", o->extra[i]);
		memcpy(k, o->extra[i], (size_t)(eq - o->extra[i]));
		k[eq - o->extra[i]] = 0;
		conf_set(conf, k, eq + 1);
	}
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 4)
		fprintf(stderr, "kbench: rdkafka %s: %s\n", fac, buf);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* ---------------------------------------------- request counts (--stats) */

static char *g_stats; /* last statistics JSON */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	(void)rk, (void)len, (void)opaque;
	free(g_stats);
	g_stats = strdup(json);
	if (getenv("KBENCH_DUMP_STATS"))
		fprintf(stderr, "%s\n", json);
	return 0;
}

/* Sums the "<api>": N request counters of every broker in the last stats
 * (librdkafka writes `"req": { "Produce": 12, ... }`). */
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

static void stats_enable(rd_kafka_conf_t *conf, const struct opts *o)
{
	if (!o->stats)
		return;
	conf_set(conf, "statistics.interval.ms", "100");
	rd_kafka_conf_set_stats_cb(conf, stats_cb);
}

/* ------------------------------------------------------- topic creation */

/* create_topics() when the request as a whole failed. */
enum { CREATE_NO_ANSWER = -1, CREATE_REFUSED = -2 };

/* One CreateTopics request for the n topics in nt (destroyed here), with the
 * given operation and request time-outs, waiting up to wait_ms for the
 * answer. Returns how many were created or already existed, printing the
 * first other failure unless quiet; or CREATE_NO_ANSWER, or CREATE_REFUSED
 * (an error for the whole request, such as the mock's missing CreateTopics),
 * with *why saying how (valid until the next call). */
static int create_topics(rd_kafka_t *rk, rd_kafka_NewTopic_t **nt, size_t n, int op_ms, int req_ms,
			 int wait_ms, bool quiet, const char **why)
{
	static char whybuf[512];
	char errstr[512];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(ao, op_ms, errstr, sizeof(errstr));
	rd_kafka_AdminOptions_set_request_timeout(ao, req_ms, errstr, sizeof(errstr));
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, n, ao, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, wait_ms);
	int ok;
	if (!ev) {
		ok = CREATE_NO_ANSWER;
		snprintf(whybuf, sizeof(whybuf), "no answer in %d s", wait_ms / 1000);
	} else if (rd_kafka_event_error(ev)) {
		ok = CREATE_REFUSED;
		snprintf(whybuf, sizeof(whybuf), "%s", rd_kafka_event_error_string(ev));
	} else {
		size_t cnt = 0;
		const rd_kafka_topic_result_t **tr =
			rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
		int shown = 0;
		ok = 0;
		for (size_t i = 0; i < cnt; i++) {
			rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
			const char *es = rd_kafka_topic_result_error_string(tr[i]);
			if (!e || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
				ok++;
			else if (!quiet && shown++ == 0)
				fprintf(stderr, "kbench: CreateTopics %s: %s: %s\n",
					rd_kafka_topic_result_name(tr[i]), rd_kafka_err2name(e), es ? es : "");
		}
	}
	*why = whybuf;
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_NewTopic_destroy_array(nt, n);
	return ok;
}

/* Returns the partition count the topic has (after creating it if needed),
 * or dies after a timeout. */
static int ensure_topic(rd_kafka_t *rk, const struct opts *o)
{
	bool exists = false;
	if (o->create) {
		/* An all-topics listing creates nothing: skip CreateTopics for a
		 * topic that is already there (e.g. pre-created on the mock). */
		const struct rd_kafka_metadata *md = NULL;
		if (!rd_kafka_metadata(rk, 1, NULL, &md, 5000)) {
			for (int i = 0; i < md->topic_cnt; i++)
				if (!strcmp(md->topics[i].topic, o->topic) && !md->topics[i].err)
					exists = true;
			rd_kafka_metadata_destroy(md);
		}
	}
	if (o->create && !exists) {
		char errstr[512];
		rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions, 1,
								errstr, sizeof(errstr));
		if (!nt)
			die("NewTopic: %s", errstr);
		const char *why;
		int rc = create_topics(rk, &nt, 1, 10000, 10000, 15000, o->quiet, &why);
		if (rc == CREATE_NO_ANSWER)
			fprintf(stderr, "kbench: CreateTopics: %s\n", why);
		else if (rc == CREATE_REFUSED && !o->quiet) /* the mock: fall back to metadata */
			fprintf(stderr, "kbench: CreateTopics %s: %s (falling back to metadata)\n", o->topic,
				why);
	}

	/* Wait until metadata shows the topic with leaders for every partition. */
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	double deadline = now_s() + 20;
	int pcnt = 0;
	for (;;) {
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
		const char *why = rd_kafka_err2str(e);
		if (!e && md->topic_cnt == 1) {
			const rd_kafka_metadata_topic_t *t = &md->topics[0];
			bool ok = !t->err && t->partition_cnt > 0;
			for (int i = 0; ok && i < t->partition_cnt; i++)
				if (t->partitions[i].err || t->partitions[i].leader < 0)
					ok = false;
			why = t->err ? rd_kafka_err2str(t->err) : "partitions without leader";
			if (ok) {
				pcnt = t->partition_cnt;
				rd_kafka_metadata_destroy(md);
				break;
			}
		}
		if (md)
			rd_kafka_metadata_destroy(md);
		if (now_s() > deadline)
			die("topic %s not available: %s", o->topic, why);
		usleep(100000);
	}
	rd_kafka_topic_destroy(rkt);
	if (pcnt != o->partitions && !o->quiet)
		fprintf(stderr, "kbench: topic %s has %d partitions (asked for %d)\n", o->topic, pcnt,
			o->partitions);
	return pcnt;
}

/* ---------------------------------------------------------------- produce */

/* Transactions are all-or-nothing here: any error ends the run. */
static void txn_check(rd_kafka_error_t *e, const char *what)
{
	if (!e)
		return;
	die("%s: %s", what, rd_kafka_error_string(e));
}

struct pstate {
	uint64_t *sent_ns; /* per record */
	uint32_t *lat_us;  /* per acknowledged record */
	long long acked, errors;
	rd_kafka_resp_err_t first_err;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct pstate *ps = opaque;
	uint64_t t = now_ns();
	if (m->err) {
		if (!ps->errors)
			ps->first_err = m->err;
		ps->errors++;
		return;
	}
	size_t idx = (size_t)(uintptr_t)m->_private;
	uint64_t d = (t - ps->sent_ns[idx]) / 1000;
	ps->lat_us[ps->acked++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static int cmd_produce(const struct opts *o_in)
{
	struct opts oo = *o_in, *o = &oo;
	if (o->records < 0)
		o->records = 300000;
	if (!o->bootstrap || !o->topic)
		die("produce needs --bootstrap and --topic");
	char errstr[512], num[32];
	if (o->idempotent || o->transactional)
		o->acks = "all"; /* librdkafka refuses idempotence with anything else */
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", o->bootstrap);
	conf_set(conf, "acks", o->acks);
	if (o->idempotent || o->transactional)
		conf_set(conf, "enable.idempotence", "true");
	if (o->transactional) {
		char tid[128];
		snprintf(tid, sizeof(tid), "%s-%d", o->transactional, (int)getpid());
		conf_set(conf, "transactional.id", tid);
		conf_set(conf, "transaction.timeout.ms", "120000"); /* >= message.timeout.ms */
	}
	snprintf(num, sizeof(num), "%d", o->linger_ms);
	conf_set(conf, "linger.ms", num);
	snprintf(num, sizeof(num), "%d", o->batch_size);
	conf_set(conf, "batch.size", num);
	conf_set(conf, "compression.type", o->compression);
	conf_set(conf, "queue.buffering.max.kbytes", "1048576");
	conf_set(conf, "queue.buffering.max.messages", "1000000");
	conf_set(conf, "message.timeout.ms", "120000");
	conf_extra(conf, o);
	struct pstate ps = {0};
	size_t n = (size_t)o->records;
	ps.sent_ns = calloc(n ? n : 1, sizeof(*ps.sent_ns));
	ps.lat_us = calloc(n ? n : 1, sizeof(*ps.lat_us));
	if (!ps.sent_ns || !ps.lat_us)
		die("out of memory");
	rd_kafka_conf_set_opaque(conf, &ps);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	stats_enable(conf, o);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		die("rd_kafka_new: %s", errstr);

	int pcnt = ensure_topic(rk, o);
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);

	size_t sz = (size_t)o->size;
	char *payload = malloc(sz + 8);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < sz + 8; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		payload[i] = (char)x;
	}

	if (o->transactional)
		txn_check(rd_kafka_init_transactions(rk, 30000), "init_transactions");
	if (!o->quiet)
		fprintf(stderr, "kbench: produce %s: %lld records x %d B, acks=%s%s%s, %d partitions\n",
			o->topic, o->records, o->size, o->acks,
			o->idempotent && !o->transactional ? ", idempotent" : "",
			o->transactional ? ", transactional" : "", pcnt);
	long long txns = 0;
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		if (o->transactional && i % (size_t)o->txn_records == 0)
			txn_check(rd_kafka_begin_transaction(rk), "begin_transaction");
		if (sz >= 8)
			memcpy(payload, &i, 8); /* sequence number, for eyeballing */
		char key[16];
		int klen = o->keys > 0 ? snprintf(key, sizeof(key), "k%07d", (int)(i % (size_t)o->keys)) : 0;
		ps.sent_ns[i] = now_ns();
		while (rd_kafka_produce(rkt, (int32_t)(i % (size_t)pcnt), RD_KAFKA_MSG_F_COPY,
					payload, sz, klen ? key : NULL, (size_t)klen,
					(void *)(uintptr_t)i) == -1) {
			rd_kafka_resp_err_t e = rd_kafka_last_error();
			if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				die("produce: %s", rd_kafka_err2str(e));
			rd_kafka_poll(rk, 1);
		}
		if ((i & 1023) == 0)
			rd_kafka_poll(rk, 0);
		if (o->transactional && ((i + 1) % (size_t)o->txn_records == 0 || i + 1 == n)) {
			txn_check(rd_kafka_commit_transaction(rk, 60000), "commit_transaction");
			txns++;
		}
	}
	while (ps.acked + ps.errors < (long long)n) {
		rd_kafka_poll(rk, 50);
		if (now_s() - t0 > 600)
			die("produce: timed out waiting for acknowledgements");
	}
	double secs = now_s() - t0;
	rd_kafka_flush(rk, 10000);
	if (o->stats)
		for (double te = now_s() + 0.3; now_s() < te;)
			rd_kafka_poll(rk, 50);

	uint32_t p50 = 0, p99 = 0, p999 = 0, pmax = 0;
	if (ps.acked) {
		qsort(ps.lat_us, (size_t)ps.acked, sizeof(uint32_t), cmp_u32);
		p50 = ps.lat_us[(size_t)(ps.acked * 50 / 100)];
		p99 = ps.lat_us[(size_t)(ps.acked * 99 / 100)];
		p999 = ps.lat_us[(size_t)(ps.acked * 999 / 1000)];
		pmax = ps.lat_us[ps.acked - 1];
	}
	double mb = (double)ps.acked * (double)sz / 1e6;
	printf("{\"mode\":\"produce\",\"label\":\"%s\",\"topic\":\"%s\",\"acks\":\"%s\","
	       "\"idempotent\":%s,\"transactions\":%lld,"
	       "\"partitions\":%d,\"size\":%d,\"records\":%lld,\"acked\":%lld,\"errors\":%lld,"
	       "\"secs\":%.3f,\"mb_s\":%.1f,\"rec_s\":%.0f,"
	       "\"lat_p50_ms\":%.2f,\"lat_p99_ms\":%.2f,\"lat_p999_ms\":%.2f,\"lat_max_ms\":%.2f,"
	       "\"produce_requests\":%lld}\n",
	       o->label, o->topic, o->acks, o->idempotent || o->transactional ? "true" : "false", txns,
	       pcnt, o->size, o->records, ps.acked, ps.errors, secs,
	       mb / secs, (double)ps.acked / secs, p50 / 1e3, p99 / 1e3, p999 / 1e3, pmax / 1e3,
	       stats_requests("Produce"));
	fflush(stdout);
	if (!o->quiet)
		fprintf(stderr,
			"kbench: produced %lld records in %.2f s: %.1f MB/s, %.0f records/s, "
			"ack latency p50 %.1f ms p99 %.1f ms%s%s\n",
			ps.acked, secs, mb / secs, (double)ps.acked / secs, p50 / 1e3, p99 / 1e3,
			ps.errors ? ", first error: " : "",
			ps.errors ? rd_kafka_err2str(ps.first_err) : "");
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	free(payload);
	free(ps.sent_ns);
	free(ps.lat_us);
	return ps.errors ? 1 : 0;
}

/* ---------------------------------------------------------------- consume */

/* Records taken off the consumer queue per call. */
#define CONSUME_BATCH 1024

struct pass_result {
	long long records, bytes, gaps, fetches;
	double secs;
	double client_cpu_s;  /* the whole client process over the timed part */
	double fetch_busy_s;  /* its busiest fetching thread over the same */
	bool complete;
};

/* One pass: a fresh consumer reads every partition from offset 0 (or the log
 * start, if the broker has trimmed the head) to the high watermark seen
 * before the pass. Timed from assign() to the last record; creating the
 * client, the metadata round trip and closing it are outside the timing. */
static struct pass_result consume_pass(const struct opts *o, int *pcnt_out)
{
	struct pass_result r = {.fetches = -1};
	char errstr[512], gid[64];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", o->bootstrap);
	snprintf(gid, sizeof(gid), "kbench-%d", (int)getpid());
	conf_set(conf, "group.id", gid); /* librdkafka's assign() needs one */
	conf_set(conf, "enable.auto.commit", "false");
	conf_set(conf, "enable.auto.offset.store", "false");
	conf_set(conf, "auto.offset.reset", "earliest");
	conf_extra(conf, o);
	stats_enable(conf, o);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		die("rd_kafka_new: %s", errstr);
	rd_kafka_poll_set_consumer(rk);

	struct opts mo = *o;
	mo.create = false;
	mo.quiet = true;
	int pcnt = ensure_topic(rk, &mo);
	*pcnt_out = pcnt;

	int64_t *next = calloc((size_t)pcnt, sizeof(*next));
	int64_t *high = calloc((size_t)pcnt, sizeof(*high));
	long long want = 0;
	rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(pcnt);
	for (int p = 0; p < pcnt; p++) {
		int64_t lo = 0, hi = 0;
		rd_kafka_resp_err_t e =
			rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi, 10000);
		if (e)
			die("watermarks %s [%d]: %s", o->topic, p, rd_kafka_err2str(e));
		next[p] = lo;
		high[p] = hi;
		want += hi - lo;
		/* Offset 0, unless the broker has trimmed the head (the mock's
		 * retention): then its log start, sparing an OFFSET_OUT_OF_RANGE
		 * round trip and reset. */
		rd_kafka_topic_partition_list_add(tl, o->topic, p)->offset = lo;
	}
	struct thread_cpu threads0, threads1;
	fetch_threads_cpu(&threads0);
	double cpu0 = process_cpu_s();
	double t0 = now_s(), tlast = t0;
	rd_kafka_resp_err_t e = rd_kafka_assign(rk, tl);
	if (e)
		die("assign: %s", rd_kafka_err2str(e));
	/* Messages come off the consumer queue in batches: one queue lock and one
	 * clock read per batch instead of per record, the way a throughput-minded
	 * librdkafka application reads. */
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
	rd_kafka_message_t *batch[CONSUME_BATCH];
	while (!g_stop && r.records < want) {
		/* The call waits until it has the count asked for (or the time-out):
		 * never ask for more than the pass still needs. */
		long long left = want - r.records;
		size_t ask = left < CONSUME_BATCH ? (size_t)left : CONSUME_BATCH;
		ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch, ask);
		if (n <= 0) {
			if (now_s() - tlast > o->timeout_s) {
				fprintf(stderr, "kbench: consume: nothing for %d s, giving up\n",
					o->timeout_s);
				break;
			}
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = batch[i];
			if (m->err) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					fprintf(stderr, "kbench: consume: %s\n",
						rd_kafka_message_errstr(m));
			} else {
				int32_t p = m->partition;
				if (p >= 0 && p < pcnt) {
					if (m->offset != next[p])
						r.gaps++;
					next[p] = m->offset + 1;
				}
				r.records++;
				r.bytes += (long long)m->len;
			}
			rd_kafka_message_destroy(m);
		}
		tlast = now_s();
	}
	rd_kafka_queue_destroy(q);
	r.secs = tlast - t0;
	r.client_cpu_s = process_cpu_s() - cpu0;
	fetch_threads_cpu(&threads1);
	r.fetch_busy_s = fetch_thread_busy_s(&threads0, &threads1);
	r.complete = r.records >= want;
	if (o->stats) {
		for (double te = now_s() + 0.3; now_s() < te;) {
			rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
			if (m)
				rd_kafka_message_destroy(m);
		}
		r.fetches = stats_requests("Fetch");
		free(g_stats);
		g_stats = NULL;
	}
	rd_kafka_topic_partition_list_destroy(tl);
	rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	free(next);
	free(high);
	return r;
}

static int cmd_consume(const struct opts *o)
{
	if (!o->bootstrap || !o->topic)
		die("consume needs --bootstrap and --topic");
	struct pass_result tot = {.fetches = o->stats ? 0 : -1};
	int passes = 0, pcnt = 0;
	bool ok = true;
	for (;;) {
		struct pass_result r = consume_pass(o, &pcnt);
		passes++;
		tot.records += r.records;
		tot.bytes += r.bytes;
		tot.gaps += r.gaps;
		tot.secs += r.secs;
		tot.client_cpu_s += r.client_cpu_s;
		tot.fetch_busy_s += r.fetch_busy_s;
		if (r.fetches >= 0)
			tot.fetches += r.fetches;
		if (!r.complete || r.records == 0) {
			ok = r.complete;
			break;
		}
		if (!o->quiet && o->records > 0 && passes == 1 && r.records < o->records)
			fprintf(stderr, "kbench: consume %s: %lld records per pass, re-reading to %lld\n",
				o->topic, r.records, o->records);
		if (g_stop || tot.records >= o->records)
			break;
	}
	double secs = tot.secs > 0 ? tot.secs : 1e-9;
	printf("{\"mode\":\"consume\",\"label\":\"%s\",\"topic\":\"%s\",\"partitions\":%d,"
	       "\"passes\":%d,\"records\":%lld,\"bytes\":%lld,\"gaps\":%lld,\"secs\":%.3f,"
	       "\"mb_s\":%.1f,\"rec_s\":%.0f,\"fetch_requests\":%lld,\"client_cpu_s\":%.3f,"
	       "\"fetch_thread_busy\":%.3f}\n",
	       o->label, o->topic, pcnt, passes, tot.records, tot.bytes, tot.gaps, secs,
	       (double)tot.bytes / 1e6 / secs, (double)tot.records / secs, tot.fetches,
	       tot.client_cpu_s, tot.fetch_busy_s / secs);
	if (!o->quiet)
		fprintf(stderr, "kbench: consumed %lld records (%lld bytes) in %d pass(es), %.2f s: "
				"%.1f MB/s, %.0f records/s%s%s\n",
			tot.records, tot.bytes, passes, secs, (double)tot.bytes / 1e6 / secs,
			(double)tot.records / secs, tot.gaps ? " (OFFSET GAPS!)" : "",
			ok ? "" : " (INCOMPLETE)");
	return ok && !tot.gaps ? 0 : 1;
}

/* ----------------------------------------------------------------- delete */

/* DeleteTopics for --topic (every --topic given); frees the broker's disk and
 * page cache between runs. */
static int cmd_delete(const struct opts *o)
{
	if (!o->bootstrap || !o->n_mock_topics)
		die("delete needs --bootstrap and --topic");
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", o->bootstrap);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		die("rd_kafka_new: %s", errstr);
	rd_kafka_DeleteTopic_t *dt[256];
	for (int i = 0; i < o->n_mock_topics; i++)
		dt[i] = rd_kafka_DeleteTopic_new(o->mock_topics[i]);
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, errstr, sizeof(errstr));
	rd_kafka_AdminOptions_set_request_timeout(ao, 15000, errstr, sizeof(errstr));
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_DeleteTopics(rk, dt, (size_t)o->n_mock_topics, ao, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
	int rc = 0;
	if (!ev || rd_kafka_event_error(ev)) {
		fprintf(stderr, "kbench: DeleteTopics: %s\n",
			ev ? rd_kafka_event_error_string(ev) : "no answer in 20 s");
		rc = 1;
	} else {
		size_t cnt = 0;
		const rd_kafka_topic_result_t **tr = rd_kafka_DeleteTopics_result_topics(
			rd_kafka_event_DeleteTopics_result(ev), &cnt);
		for (size_t i = 0; i < cnt; i++)
			if (rd_kafka_topic_result_error(tr[i])) {
				fprintf(stderr, "kbench: DeleteTopics %s: %s\n",
					rd_kafka_topic_result_name(tr[i]),
					rd_kafka_err2str(rd_kafka_topic_result_error(tr[i])));
				rc = 1;
			}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_DeleteTopic_destroy_array(dt, (size_t)o->n_mock_topics);
	rd_kafka_destroy(rk);
	return rc;
}

/* ---------------------------------------------------------------- latency */

struct lstate {
	rd_kafka_t *rk;
	uint64_t *lat_ns; /* per record, 0 = not seen */
	size_t n;
	volatile long long seen;
	volatile int stop;
	int size;
};

static void *latency_consumer(void *arg)
{
	struct lstate *ls = arg;
	while (!ls->stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(ls->rk, 50);
		if (!m)
			continue;
		uint64_t t = now_ns();
		if (!m->err && m->len >= 16) {
			uint64_t seq, sched;
			memcpy(&seq, m->payload, 8);
			memcpy(&sched, (const char *)m->payload + 8, 8);
			if (seq < ls->n && !ls->lat_ns[seq]) {
				ls->lat_ns[seq] = t > sched ? t - sched : 1;
				__atomic_add_fetch(&ls->seen, 1, __ATOMIC_RELAXED);
			}
		}
		rd_kafka_message_destroy(m);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Produces --rate records/s for --duration s while a consumer in this process
 * reads them; end-to-end latency is measured from each record's scheduled
 * send time, so a stalled client counts against the figure. */
static int cmd_latency(const struct opts *o)
{
	if (!o->bootstrap || !o->topic)
		die("latency needs --bootstrap and --topic");
	if (o->size < 16)
		die("latency needs --size >= 16");
	char errstr[512], num[32], gid[64];
	double warm = 1.0;
	size_t nwarm = (size_t)(o->rate * warm);
	size_t n = nwarm + (size_t)(o->rate * o->duration);

	rd_kafka_conf_t *pc = rd_kafka_conf_new();
	conf_set(pc, "bootstrap.servers", o->bootstrap);
	conf_set(pc, "acks", o->acks);
	snprintf(num, sizeof(num), "%d", o->linger_ms < 0 ? 0 : o->linger_ms);
	conf_set(pc, "linger.ms", num);
	conf_set(pc, "compression.type", o->compression);
	conf_extra(pc, o);
	rd_kafka_conf_set_log_cb(pc, log_cb);
	rd_kafka_t *prk = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof(errstr));
	if (!prk)
		die("rd_kafka_new: %s", errstr);
	int pcnt = ensure_topic(prk, o);

	rd_kafka_conf_t *cc = rd_kafka_conf_new();
	conf_set(cc, "bootstrap.servers", o->bootstrap);
	snprintf(gid, sizeof(gid), "kbench-lat-%d", (int)getpid());
	conf_set(cc, "group.id", gid);
	conf_set(cc, "enable.auto.commit", "false");
	snprintf(num, sizeof(num), "%d", o->fetch_wait_ms);
	conf_set(cc, "fetch.wait.max.ms", num);
	conf_extra(cc, o);
	rd_kafka_conf_set_log_cb(cc, log_cb);
	rd_kafka_t *crk = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, sizeof(errstr));
	if (!crk)
		die("rd_kafka_new: %s", errstr);
	rd_kafka_poll_set_consumer(crk);
	rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(pcnt);
	for (int p = 0; p < pcnt; p++) {
		int64_t lo = 0, hi = 0;
		rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(crk, o->topic, p, &lo, &hi, 10000);
		if (e)
			die("watermarks %s [%d]: %s", o->topic, p, rd_kafka_err2str(e));
		rd_kafka_topic_partition_list_add(tl, o->topic, p)->offset = hi;
	}
	if (rd_kafka_assign(crk, tl))
		die("assign failed");
	rd_kafka_topic_partition_list_destroy(tl);

	struct lstate ls = {.rk = crk, .n = n, .size = o->size};
	ls.lat_ns = calloc(n, sizeof(*ls.lat_ns));
	pthread_t th;
	pthread_create(&th, NULL, latency_consumer, &ls);

	rd_kafka_topic_t *rkt = rd_kafka_topic_new(prk, o->topic, NULL);
	char *payload = calloc(1, (size_t)o->size);
	if (!o->quiet)
		fprintf(stderr, "kbench: latency %s: %d records/s for %d s (+%.0f s warm-up), acks=%s\n",
			o->topic, o->rate, o->duration, warm, o->acks);
	uint64_t period = 1000000000ull / (uint64_t)o->rate;
	uint64_t t0 = now_ns() + 10000000ull;
	for (size_t i = 0; i < n && !g_stop; i++) {
		uint64_t sched = t0 + i * period;
		struct timespec ts = {.tv_sec = (time_t)(sched / 1000000000ull),
				      .tv_nsec = (long)(sched % 1000000000ull)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		uint64_t seq = i;
		memcpy(payload, &seq, 8);
		memcpy(payload + 8, &sched, 8);
		if (rd_kafka_produce(rkt, (int32_t)(i % (size_t)pcnt), RD_KAFKA_MSG_F_COPY, payload,
				     (size_t)o->size, NULL, 0, NULL) == -1)
			fprintf(stderr, "kbench: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_poll(prk, 0);
	}
	rd_kafka_flush(prk, 10000);
	double wait_until = now_s() + 5;
	while (ls.seen < (long long)n && now_s() < wait_until)
		usleep(10000);
	ls.stop = 1;
	pthread_join(th, NULL);

	size_t m = 0;
	uint64_t *v = calloc(n, sizeof(*v));
	for (size_t i = nwarm; i < n; i++)
		if (ls.lat_ns[i])
			v[m++] = ls.lat_ns[i];
	qsort(v, m, sizeof(*v), cmp_u64);
	double p50 = m ? v[m * 50 / 100] / 1e6 : -1, p99 = m ? v[m * 99 / 100] / 1e6 : -1,
	       p999 = m ? v[m * 999 / 1000] / 1e6 : -1, pmax = m ? v[m - 1] / 1e6 : -1;
	size_t measured = n - nwarm;
	printf("{\"mode\":\"latency\",\"label\":\"%s\",\"topic\":\"%s\",\"acks\":\"%s\","
	       "\"partitions\":%d,\"size\":%d,\"rate\":%d,\"fetch_wait_ms\":%d,\"records\":%zu,"
	       "\"received\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
	       o->label, o->topic, o->acks, pcnt, o->size, o->rate, o->fetch_wait_ms, measured, m, p50,
	       p99, p999, pmax);
	if (!o->quiet)
		fprintf(stderr, "kbench: end-to-end latency over %zu of %zu records: p50 %.3f ms, "
				"p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
			m, measured, p50, p99, p999, pmax);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy_flags(crk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	rd_kafka_destroy(prk);
	free(payload);
	free(v);
	free(ls.lat_ns);
	return m == measured ? 0 : 1;
}

/* ------------------------------------------------------------------- mock */

static int cmd_mock(const struct opts *o)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "log_level", "3");
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		die("rd_kafka_new: %s", errstr);
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, o->brokers);
	if (!mc)
		die("rd_kafka_mock_cluster_new failed");
	for (int i = 0; i < o->n_mock_topics; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s", o->mock_topics[i]);
		char *colon = strrchr(name, ':');
		int parts = 1;
		if (colon) {
			*colon = 0;
			parts = atoi(colon + 1);
		}
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
		if (e)
			die("mock topic %s: %s", name, rd_kafka_err2str(e));
	}
	for (int i = 0; i < o->count; i++) { /* --count N: N topics <prefix>NNNN */
		char name[256];
		snprintf(name, sizeof(name), "%s%04d", o->prefix, i);
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, o->partitions, 1);
		if (e)
			die("mock topic %s: %s", name, rd_kafka_err2str(e));
	}
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		g_stop = 1;
	printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!g_stop)
		usleep(100000);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}

/* ---------------------------------------------------- ApiVersions pinging */

static int split_hostport(const char *hp, char *host, size_t hsz, char *port, size_t psz)
{
	const char *s = hp;
	if (!strncmp(s, "PLAINTEXT://", 12))
		s += 12;
	const char *comma = strchr(s, ',');
	size_t len = comma ? (size_t)(comma - s) : strlen(s);
	const char *colon = memrchr(s, ':', len);
	if (!colon)
		return -1;
	snprintf(host, hsz, "%.*s", (int)(colon - s), s);
	snprintf(port, psz, "%.*s", (int)(len - (size_t)(colon - s) - 1), colon + 1);
	return 0;
}

/* A blocking TCP connection to the first address of bootstrap, or -1. */
static int tcp_connect(const char *bootstrap)
{
	char host[256], port[32];
	if (split_hostport(bootstrap, host, sizeof(host), port, sizeof(port)))
		die("bad bootstrap %s", bootstrap);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return -1;
	}
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads exactly n bytes (buf NULL: discards them) within timeout_ms of
 * silence; 0 when done. */
static int read_full(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
	uint8_t sink[65536];
	size_t have = 0;
	while (have < n) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		size_t want = n - have;
		if (!buf && want > sizeof(sink))
			want = sizeof(sink);
		ssize_t k = read(fd, buf ? buf + have : sink, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		have += (size_t)k;
	}
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One ApiVersions v0 request on fd and its whole answer; 0 when answered. */
static int apiversions_roundtrip(int fd, int timeout_ms)
{
	/* size, api_key=18, api_version=0, correlation_id, client_id "kbench" */
	unsigned char req[4 + 2 + 2 + 4 + 2 + 6] = {0, 0, 0, 16, 0, 18, 0, 0, 0, 0, 0x4b, 0x42,
						    0, 6, 'k', 'b', 'e', 'n', 'c', 'h'};
	if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req))
		return -1;
	uint8_t hdr[8];
	if (read_full(fd, hdr, sizeof(hdr), timeout_ms))
		return -1;
	uint32_t size = get_be32(hdr);
	if (size < 4 || hdr[4] || hdr[5] || hdr[6] != 0x4b || hdr[7] != 0x42)
		return -1;
	return read_full(fd, NULL, size - 4, timeout_ms);
}

/* One attempt: connect, send ApiVersions v0, wait for the matching answer.
 * Returns 0 when answered within timeout_ms. */
static int apiversions_once(const char *bootstrap, int timeout_ms)
{
	int fd = tcp_connect(bootstrap);
	if (fd < 0)
		return -1;
	int rc = apiversions_roundtrip(fd, timeout_ms);
	close(fd);
	return rc;
}

/* Loops until answered; returns seconds spent, or -1 after timeout_s. */
static double wait_served(const char *bootstrap, double t_start, int timeout_s, pid_t child)
{
	for (;;) {
		if (apiversions_once(bootstrap, 1000) == 0)
			return now_s() - t_start;
		if (child > 0 && waitpid(child, NULL, WNOHANG) == child)
			return -2;
		if (now_s() - t_start > timeout_s)
			return -1;
		usleep(1000);
	}
}

static int cmd_ping(const struct opts *o)
{
	if (!o->bootstrap)
		die("ping needs --bootstrap");
	double t0 = now_s();
	double s = wait_served(o->bootstrap, t0, o->timeout_s, 0);
	printf("{\"mode\":\"ping\",\"ok\":%s,\"ms\":%.2f}\n", s >= 0 ? "true" : "false",
	       s >= 0 ? s * 1e3 : -1.0);
	return s >= 0 ? 0 : 1;
}

/* The number after "key:" in a /proc file of "Key: value kB" lines, or -1. */
static long proc_field_kb(const char *path, const char *key)
{
	char line[256];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

static long read_status_kb(pid_t pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return proc_field_kb(path, key);
}

static volatile sig_atomic_t g_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	g_usr1 = 1;
}

static int cmd_spawn(const struct opts *o)
{
	if (!o->bootstrap || !o->cmd || !o->cmd[0])
		die("spawn needs --bootstrap and -- CMD");
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct sigaction su = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &su, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* our parent gone: stop the broker */

	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (o->log) {
			int fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		execvp(o->cmd[0], o->cmd);
		_exit(127);
	}
	double s = wait_served(o->bootstrap, t0, o->timeout_s ? o->timeout_s : 30, pid);
	if (s < 0) {
		printf("{\"mode\":\"startup\",\"label\":\"%s\",\"ok\":false,\"pid\":%d,\"error\":\"%s\"}\n",
		       o->label, (int)pid,
		       s == -2 ? "broker exited" : "no ApiVersions answer before timeout");
		fflush(stdout);
		if (s != -2) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return 1;
	}
	usleep((useconds_t)o->settle_ms * 1000);
	printf("{\"mode\":\"startup\",\"label\":\"%s\",\"ok\":true,\"pid\":%d,\"first_request_ms\":%.2f,"
	       "\"settle_ms\":%d,\"rss_kb\":%ld,\"threads\":%ld}\n",
	       o->label, (int)pid, s * 1e3, o->settle_ms, read_status_kb(pid, "VmRSS"),
	       read_status_kb(pid, "Threads"));
	fflush(stdout);
	int status = 0;
	for (;;) {
		/* Polled: a signal landing just before a blocking waitpid would
		 * otherwise wait for the broker's exit. */
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (!g_usr1 && !g_stop)
			usleep(10000);
		if (g_usr1) {
			g_usr1 = 0;
			printf("{\"mode\":\"rss\",\"label\":\"%s\",\"pid\":%d,\"rss_kb\":%ld,\"hwm_kb\":%ld,"
			       "\"threads\":%ld}\n",
			       o->label, (int)pid, read_status_kb(pid, "VmRSS"), read_status_kb(pid, "VmHWM"),
			       read_status_kb(pid, "Threads"));
			fflush(stdout);
		}
		if (g_stop) {
			g_stop = 0;
			double ts = now_s();
			long hwm = read_status_kb(pid, "VmHWM");
			kill(pid, SIGTERM);
			bool killed = false;
			while ((r = waitpid(pid, &status, WNOHANG)) == 0) {
				if (now_s() - ts > o->timeout_s && !killed) {
					kill(pid, SIGKILL);
					killed = true;
				}
				usleep(1000);
			}
			printf("{\"mode\":\"shutdown\",\"label\":\"%s\",\"pid\":%d,\"ms\":%.1f,\"hwm_kb\":%ld,"
			       "\"killed\":%s,\"status\":\"%s %d\"}\n",
			       o->label, (int)pid, (now_s() - ts) * 1e3, hwm, killed ? "true" : "false",
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			fflush(stdout);
			return 0;
		}
	}
	printf("{\"mode\":\"exited\",\"pid\":%d,\"status\":\"%s %d\"}\n", (int)pid,
	       WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	fflush(stdout);
	return 1;
}

/* ------------------------------------------------------------------- pump */

struct pump {
	int fd;
	long long bytes;
	int chunk;
};

static void *pump_writer(void *arg)
{
	struct pump *p = arg;
	char *buf = calloc(1, (size_t)p->chunk);
	long long left = p->bytes;
	while (left > 0) {
		ssize_t k = write(p->fd, buf, (size_t)(left < p->chunk ? left : p->chunk));
		if (k <= 0)
			break;
		left -= k;
	}
	shutdown(p->fd, SHUT_WR);
	free(buf);
	return NULL;
}

static int cmd_pump(const struct opts *o)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &al))
		die("pump: listen: %s", strerror(errno));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)))
		die("pump: connect: %s", strerror(errno));
	int s = accept(ls, NULL, NULL);
	close(ls);
	struct pump p = {.fd = c, .bytes = o->bytes, .chunk = o->chunk};
	pthread_t th;
	double t0 = now_s();
	pthread_create(&th, NULL, pump_writer, &p);
	char *buf = malloc((size_t)o->chunk);
	long long got = 0;
	for (;;) {
		ssize_t k = read(s, buf, (size_t)o->chunk);
		if (k <= 0)
			break;
		got += k;
	}
	double secs = now_s() - t0;
	pthread_join(th, NULL);
	printf("{\"mode\":\"pump\",\"label\":\"%s\",\"bytes\":%lld,\"secs\":%.3f,\"mb_s\":%.1f}\n", o->label, got, secs,
	       (double)got / 1e6 / secs);
	if (!o->quiet)
		fprintf(stderr, "kbench: loopback TCP: %lld bytes in %.2f s: %.1f MB/s\n", got, secs,
			(double)got / 1e6 / secs);
	free(buf);
	close(s);
	close(c);
	return 0;
}

/* ------------------------------------------------------------------ conns */

/* Raises this process's open-file limit to its hard limit; returns it. */
static rlim_t nofile_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

static long meminfo_kb(const char *key)
{
	return proc_field_kb("/proc/meminfo", key);
}

/* Opens --count connections, each answered one ApiVersions (so the broker
 * has fully set it up), leaves them idle, and reads the broker's VmRSS
 * (--pid) before and after: broker memory per idle connection. Then checks
 * the broker still answers on a fresh connection and on every idle one. */
static int cmd_conns(const struct opts *o)
{
	if (!o->bootstrap)
		die("conns needs --bootstrap");
	int count = o->count < 0 ? 1000 : o->count;
	rlim_t lim = nofile_raise();
	if ((rlim_t)count + 32 > lim)
		die("conns: %d connections need %d open files; this process may have %llu "
		    "(raise the hard limit: ulimit -Hn)", count, count + 32, (unsigned long long)lim);
	long rss0 = o->pid ? read_status_kb(o->pid, "VmRSS") : -1;
	long slab0 = meminfo_kb("Slab");
	int *fds = calloc((size_t)count, sizeof(*fds));
	int opened = 0;
	double t0 = now_s();
	for (; opened < count && !g_stop; opened++) {
		int fd = tcp_connect(o->bootstrap);
		if (fd < 0) {
			fprintf(stderr, "kbench: conns: connection %d: %s\n", opened + 1, strerror(errno));
			break;
		}
		if (apiversions_roundtrip(fd, 5000)) {
			fprintf(stderr, "kbench: conns: connection %d: no ApiVersions answer\n", opened + 1);
			close(fd);
			break;
		}
		fds[opened] = fd;
		if (!o->quiet && (opened + 1) % 2000 == 0)
			fprintf(stderr, "kbench: conns: %d open\n", opened + 1);
	}
	double open_s = now_s() - t0;
	usleep((useconds_t)o->settle_ms * 1000);
	long rss1 = o->pid ? read_status_kb(o->pid, "VmRSS") : -1;
	long slab1 = meminfo_kb("Slab");
	double tp = now_s();
	bool fresh_ok = apiversions_once(o->bootstrap, 5000) == 0;
	double fresh_ms = (now_s() - tp) * 1e3;
	int alive = 0;
	for (int i = 0; i < opened; i++)
		alive += apiversions_roundtrip(fds[i], 5000) == 0;
	for (int i = 0; i < opened; i++)
		close(fds[i]);
	usleep((useconds_t)o->settle_ms * 1000);
	long rss2 = o->pid ? read_status_kb(o->pid, "VmRSS") : -1;
	double per = opened && rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) * 1024 / opened : -1;
	printf("{\"mode\":\"conns\",\"label\":\"%s\",\"count\":%d,\"opened\":%d,\"alive\":%d,"
	       "\"open_secs\":%.3f,\"rss_before_kb\":%ld,\"rss_open_kb\":%ld,\"rss_closed_kb\":%ld,"
	       "\"bytes_per_conn\":%.0f,\"fresh_ok\":%s,\"fresh_ms\":%.2f,\"slab_delta_kb\":%ld}\n",
	       o->label, count, opened, alive, open_s, rss0, rss1, rss2, per,
	       fresh_ok ? "true" : "false", fresh_ms, slab1 - slab0);
	if (!o->quiet)
		fprintf(stderr, "kbench: %d idle connections (%d answered again): broker RSS %ld -> %ld KiB "
				"(%.0f bytes each), %ld KiB after closing; fresh ApiVersions %.2f ms; "
				"kernel slab +%ld KiB (both ends)\n",
			opened, alive, rss0, rss1, per, rss2, fresh_ms, slab1 - slab0);
	free(fds);
	return opened == count && alive == opened && fresh_ok ? 0 : 1;
}

/* --------------------------------------------------------------- metadata */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* CreateTopics for --count topics named <prefix>NNNN with --partitions
 * each, in requests of 100; returns how many were created (or existed). */
static int create_many(rd_kafka_t *rk, const struct opts *o)
{
	int ok = 0;
	char errstr[512];
	for (int first = 0; first < o->count; first += 100) {
		int n = o->count - first < 100 ? o->count - first : 100;
		rd_kafka_NewTopic_t *nt[100];
		for (int i = 0; i < n; i++) {
			char name[256];
			snprintf(name, sizeof(name), "%s%04d", o->prefix, first + i);
			nt[i] = rd_kafka_NewTopic_new(name, o->partitions, 1, errstr, sizeof(errstr));
			if (!nt[i])
				die("NewTopic: %s", errstr);
		}
		const char *why;
		int created = create_topics(rk, nt, (size_t)n, 60000, 120000, 130000, false, &why);
		if (created < 0)
			fprintf(stderr, "kbench: CreateTopics: %s\n", why);
		else
			ok += created;
		if (!o->quiet)
			fprintf(stderr, "kbench: metadata: %d of %d topics created\n", ok, o->count);
	}
	return ok;
}

/* A bounds-checked reader over a response body. */
struct cur {
	const uint8_t *b;
	size_t n, p;
	bool bad;
};

static void cur_skip(struct cur *c, size_t k)
{
	if (c->bad || k > c->n - c->p)
		c->bad = true;
	else
		c->p += k;
}

static int32_t cur_i32(struct cur *c)
{
	size_t at = c->p;
	cur_skip(c, 4);
	int32_t v = c->bad ? 0 : (int32_t)get_be32(c->b + at);
	return v < 0 ? 0 : v; /* null arrays count as empty */
}

static int16_t cur_len16(struct cur *c)
{
	size_t at = c->p;
	cur_skip(c, 2);
	int16_t v = c->bad ? 0 : (int16_t)(c->b[at] << 8 | c->b[at + 1]);
	return v < 0 ? 0 : v; /* null strings are empty */
}

/* One Metadata v1 request for all topics on fd; returns the response size
 * and counts what it lists, or -1. */
static long metadata_all(int fd, int *topics, long *partitions)
{
	/* size, api_key=3, api_version=1, correlation_id, client_id "kbench", topics null */
	unsigned char req[4 + 2 + 2 + 4 + 2 + 6 + 4] = {0, 0, 0, 20, 0, 3, 0, 1, 0, 0, 0x4d, 0x44,
							0, 6, 'k', 'b', 'e', 'n', 'c', 'h',
							0xff, 0xff, 0xff, 0xff};
	if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req))
		return -1;
	uint8_t hdr[4];
	if (read_full(fd, hdr, 4, 10000))
		return -1;
	uint32_t size = get_be32(hdr);
	uint8_t *b = malloc(size ? size : 1);
	if (read_full(fd, b, size, 10000)) {
		free(b);
		return -1;
	}
	/* correlation id; brokers [node_id, host, port, rack]; controller_id;
	 * topics [error, name, is_internal, partitions [error, index, leader,
	 * replicas [int32], isr [int32]]] */
	struct cur c = {b, size, 4, false};
	int32_t nb = cur_i32(&c);
	for (int32_t i = 0; i < nb && !c.bad; i++) {
		cur_skip(&c, 4);
		cur_skip(&c, (size_t)cur_len16(&c));
		cur_skip(&c, 4);
		cur_skip(&c, (size_t)cur_len16(&c));
	}
	cur_skip(&c, 4);
	int32_t nt = cur_i32(&c);
	long np = 0;
	for (int32_t i = 0; i < nt && !c.bad; i++) {
		cur_skip(&c, 2);
		cur_skip(&c, (size_t)cur_len16(&c) + 1);
		int32_t npart = cur_i32(&c);
		for (int32_t j = 0; j < npart && !c.bad; j++) {
			cur_skip(&c, 10);
			cur_skip(&c, 4 * (size_t)cur_i32(&c));
			cur_skip(&c, 4 * (size_t)cur_i32(&c));
		}
		np += npart;
	}
	free(b);
	if (c.bad)
		return -1;
	*topics = nt;
	*partitions = np;
	return (long)size + 4;
}

/* Creates --count topics of --partitions (unless --no-create or --count 0),
 * then times --repeat Metadata requests for all topics on one connection:
 * from writing the request to reading the last byte of the answer. */
static int cmd_metadata(const struct opts *o)
{
	if (!o->bootstrap)
		die("metadata needs --bootstrap");
	double create_s = -1;
	int created = 0;
	nofile_raise();
	if (o->count > 0 && o->create) {
		char errstr[512];
		rd_kafka_conf_t *conf = rd_kafka_conf_new();
		conf_set(conf, "bootstrap.servers", o->bootstrap);
		conf_extra(conf, o);
		rd_kafka_conf_set_log_cb(conf, log_cb);
		rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
		if (!rk)
			die("rd_kafka_new: %s", errstr);
		double t0 = now_s();
		created = create_many(rk, o);
		create_s = now_s() - t0;
		rd_kafka_destroy(rk);
	}
	long rss = o->pid ? read_status_kb(o->pid, "VmRSS") : -1;
	int fd = tcp_connect(o->bootstrap);
	if (fd < 0)
		die("metadata: connect %s: %s", o->bootstrap, strerror(errno));
	double *ms = calloc((size_t)o->repeat, sizeof(*ms));
	int topics = 0;
	long parts = 0, bytes = 0;
	for (int i = 0; i < o->repeat; i++) {
		double t = now_s();
		bytes = metadata_all(fd, &topics, &parts);
		ms[i] = (now_s() - t) * 1e3;
		if (bytes < 0)
			die("metadata: no (or an unreadable) answer");
	}
	close(fd);
	qsort(ms, (size_t)o->repeat, sizeof(*ms), cmp_dbl);
	double med = ms[o->repeat / 2], min = ms[0], max = ms[o->repeat - 1];
	printf("{\"mode\":\"metadata\",\"label\":\"%s\",\"asked_topics\":%d,\"created\":%d,"
	       "\"create_secs\":%.3f,\"topics\":%d,\"partitions\":%ld,\"response_bytes\":%ld,"
	       "\"repeat\":%d,\"ms_median\":%.3f,\"ms_min\":%.3f,\"ms_max\":%.3f,\"rss_kb\":%ld}\n",
	       o->label, o->count < 0 ? 0 : o->count, created, create_s, topics, parts, bytes,
	       o->repeat, med, min, max, rss);
	if (!o->quiet)
		fprintf(stderr, "kbench: Metadata for all %d topics (%ld partitions, %ld bytes): median "
				"%.2f ms, min %.2f, max %.2f over %d requests; broker RSS %ld KiB\n",
			topics, parts, bytes, med, min, max, o->repeat, rss);
	free(ms);
	return o->count > 0 && o->create && created < o->count ? 1 : 0;
}

/* ---------------------------------------------------------------- against */

/* Starts this program with argv, its stdout going to the pipe whose read end
 * is returned in *out_fd (stderr passes through); returns its pid. */
static pid_t spawn_self(char *const argv[], int *out_fd)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pfd[1], 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	*out_fd = pfd[0];
	return pid;
}

/* Runs this program with argv, its stdout captured (stderr passes through);
 * returns the last JSON line it printed (malloc'd) or NULL. */
static char *run_self(char *const argv[], int *status)
{
	int out_fd;
	pid_t pid = spawn_self(argv, &out_fd);
	size_t cap = 4096, len = 0;
	char *out = malloc(cap);
	for (;;) {
		if (len + 1024 > cap)
			out = realloc(out, cap *= 2);
		ssize_t k = read(out_fd, out + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	out[len] = 0;
	close(out_fd);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	char *last = NULL, *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '{')
			last = line;
	char *r = last ? strdup(last) : NULL;
	free(out);
	return r;
}

/* The number after "key": in a JSON line, or NAN. */
static double json_num(const char *line, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = line ? strstr(line, k) : NULL;
	return p ? strtod(p + strlen(k), NULL) : NAN;
}

/* x for a JSON document: null when it is not a number. */
static const char *json_dbl(char buf[32], double x)
{
	if (!isfinite(x))
		return "null";
	snprintf(buf, 32, "%.3f", x);
	return buf;
}

/* Starts `kbench mock` with the given topics in its own process; returns its
 * pid and fills bs with its bootstrap address. */
static pid_t mock_start(char **topic_args, int n, char *bs, size_t bsz)
{
	char **argv = calloc((size_t)n * 2 + 3, sizeof(*argv));
	int k = 0;
	argv[k++] = "kbench";
	argv[k++] = "mock";
	for (int i = 0; i < n; i++) {
		argv[k++] = "--topic";
		argv[k++] = topic_args[i];
	}
	int out_fd;
	pid_t pid = spawn_self(argv, &out_fd);
	free(argv);
	FILE *f = fdopen(out_fd, "r");
	char line[512];
	bs[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "bootstrap=", 10)) {
			line[strcspn(line, "\r\n")] = 0;
			snprintf(bs, bsz, "%.200s", line + 10);
			break;
		}
	fclose(f); /* the mock never writes again */
	if (!bs[0])
		die("the mock cluster did not start");
	return pid;
}

static double median(double *v, int n)
{
	if (n == 0)
		return NAN;
	double *c = malloc(sizeof(*c) * (size_t)n);
	memcpy(c, v, sizeof(*c) * (size_t)n);
	qsort(c, (size_t)n, sizeof(*c), cmp_dbl);
	double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* produce/consume/latency --against PEER: the same workload, --reps times on
 * each broker, alternating which goes first, each run a fresh process on a
 * fresh topic (<topic>-r<rep>); PEER "mock" is a mock cluster started here in
 * its own process. consume first fills its topic on both brokers with what
 * the mock keeps whole (4 MiB per partition) and re-reads it (see consume).
 * Prints every run's JSON line, then a "compare" line with the medians and
 * their ratio (primary / peer). */
static int cmd_against(const char *mode, int argc, char **argv, const struct opts *o)
{
	if (!o->bootstrap || !o->topic)
		die("%s --against needs --bootstrap and --topic", mode);
	bool consume = !strcmp(mode, "consume"), latency = !strcmp(mode, "latency");
	const char *key = latency ? "p99_ms" : consume ? "mb_s" : "rec_s";
	bool mock = !strcmp(o->against, "mock");
	bool fill = consume && o->fill;
	int reps = o->reps;
	char **names = calloc((size_t)reps, sizeof(*names));
	char **mock_topics = calloc((size_t)reps, sizeof(*mock_topics));
	for (int r = 0; r < reps; r++) {
		if (asprintf(&names[r], consume && !fill ? "%s" : "%s-r%d", o->topic, r + 1) < 0 ||
		    asprintf(&mock_topics[r], "%s:%d", names[r], o->partitions) < 0)
			die("out of memory");
	}
	char peer[256];
	pid_t mock_pid = -1;
	if (mock) {
		mock_pid = mock_start(mock_topics, consume && !fill ? 1 : reps, peer, sizeof(peer));
		if (!o->quiet)
			fprintf(stderr, "kbench: peer: mock cluster on %s (pid %d)\n", peer, (int)mock_pid);
	} else {
		snprintf(peer, sizeof(peer), "%s", o->against);
	}
	const char *bs[2] = {o->bootstrap, peer};
	const char *side_name[2] = {"primary", "peer"};

	char **args = calloc((size_t)argc + 24, sizeof(*args));
	int nbase = 0;
	args[nbase++] = "kbench";
	args[nbase++] = (char *)mode;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--against") || !strcmp(a, "--reps") || !strcmp(a, "--bootstrap") ||
		    !strcmp(a, "-b") || !strcmp(a, "--topic") || !strcmp(a, "-t") || !strcmp(a, "--label")) {
			i++;
			continue;
		}
		if (!strcmp(a, "--no-fill") || !strcmp(a, "-q") || !strcmp(a, "--quiet"))
			continue;
		args[nbase++] = argv[i];
	}
	int per_part = 4 * 1048576 / (o->size + 70); /* records the mock keeps whole */
	char fill_records[32], consume_records[32], parts[16], size[16];
	snprintf(fill_records, sizeof(fill_records), "%d", per_part * o->partitions);
	snprintf(consume_records, sizeof(consume_records), "%lld",
		 o->records >= 0 ? o->records : 8LL * per_part * o->partitions);
	snprintf(parts, sizeof(parts), "%d", o->partitions);
	snprintf(size, sizeof(size), "%d", o->size);

	double *v[2] = {calloc((size_t)reps, sizeof(double)), calloc((size_t)reps, sizeof(double))};
	int nv[2] = {0, 0}, failures = 0;
	for (int r = 0; r < reps && !g_stop; r++) {
		for (int k = 0; k < 2; k++) {
			int side = r % 2 ? 1 - k : k;
			int status = 0;
			if (fill) {
				char *fargs[] = {"kbench", "produce", "--bootstrap", (char *)bs[side], "--topic",
						 names[r], "--partitions", parts, "--records", fill_records,
						 "--size", size, "--acks", "1", "-q",
						 side == 1 && mock ? "--no-create" : NULL, NULL};
				free(run_self(fargs, &status));
				if (status)
					fprintf(stderr, "kbench: filling %s on %s failed\n", names[r], bs[side]);
			}
			int n = nbase;
			args[n++] = "--bootstrap";
			args[n++] = (char *)bs[side];
			args[n++] = "--topic";
			args[n++] = names[r];
			args[n++] = "--label";
			args[n++] = (char *)side_name[side];
			args[n++] = "-q";
			if (consume && o->records < 0) {
				args[n++] = "--records";
				args[n++] = consume_records;
			}
			if (side == 1 && mock)
				args[n++] = "--no-create";
			args[n] = NULL;
			char *line = run_self(args, &status);
			double x = json_num(line, key);
			if (line)
				printf("%s\n", line);
			if (status || !line || isnan(x)) {
				failures++;
				fprintf(stderr, "kbench: rep %d/%d %s (%s): FAILED\n", r + 1, reps,
					side_name[side], bs[side]);
			} else {
				v[side][nv[side]++] = x;
				if (!o->quiet)
					fprintf(stderr, "kbench: rep %d/%d %-7s %s: %s %.*f\n", r + 1, reps,
						side_name[side], bs[side], key, latency ? 3 : 0, x);
			}
			free(line);
		}
	}
	double m0 = median(v[0], nv[0]), m1 = median(v[1], nv[1]);
	double ratio = m0 / m1;
	char j0[32], j1[32], jr[32];
	printf("{\"mode\":\"compare\",\"label\":\"%s\",\"workload\":\"%s\",\"primary\":\"%s\","
	       "\"peer\":\"%s\",\"metric\":\"%s\",\"reps\":%d,\"primary_median\":%s,"
	       "\"peer_median\":%s,\"ratio\":%s,\"failures\":%d}\n",
	       o->label, mode, o->bootstrap, mock ? "mock" : peer, key, reps, json_dbl(j0, m0),
	       json_dbl(j1, m1), json_dbl(jr, ratio), failures);
	fprintf(stderr, "kbench: %s %s: primary %.*f, peer %.*f (medians of %d and %d): ratio %.2f%s\n",
		mode, key, latency ? 3 : 0, m0, latency ? 3 : 0, m1, nv[0], nv[1], ratio,
		latency ? " (lower is better)" : "");
	if (mock_pid > 0) {
		kill(mock_pid, SIGTERM);
		waitpid(mock_pid, NULL, 0);
	}
	for (int r = 0; r < reps; r++) {
		free(names[r]);
		free(mock_topics[r]);
	}
	free(names);
	free(mock_topics);
	free(args);
	free(v[0]);
	free(v[1]);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	struct opts o;
	parse(argc - 2, argv + 2, &o);
	const char *m = argv[1];
	if (o.against && (!strcmp(m, "produce") || !strcmp(m, "consume") || !strcmp(m, "latency")))
		return cmd_against(m, argc, argv, &o);
	if (!strcmp(m, "produce"))
		return cmd_produce(&o);
	if (!strcmp(m, "consume"))
		return cmd_consume(&o);
	if (!strcmp(m, "mock"))
		return cmd_mock(&o);
	if (!strcmp(m, "latency")) {
		if (!o.linger_explicit)
			o.linger_ms = 0;
		if (o.rate < 1 || o.duration < 1)
			die("bad --rate/--duration");
		return cmd_latency(&o);
	}
	if (!strcmp(m, "spawn"))
		return cmd_spawn(&o);
	if (!strcmp(m, "ping"))
		return cmd_ping(&o);
	if (!strcmp(m, "delete"))
		return cmd_delete(&o);
	if (!strcmp(m, "pump"))
		return cmd_pump(&o);
	if (!strcmp(m, "conns"))
		return cmd_conns(&o);
	if (!strcmp(m, "metadata"))
		return cmd_metadata(&o);
	usage();
	return 2;
}
