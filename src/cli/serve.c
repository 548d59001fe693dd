/* `samsa serve [server.properties] [--set key=value ...]`: runs one broker.
 *
 * Start-up: configuration (defaults < file < KAFKA_* environment < --set),
 * the data directory (created, locked against a second broker, and its
 * meta.properties holding cluster.id and node.id as Kafka keeps them), the
 * flusher thread, the topic registry, then the reactor threads. One INFO line
 * "samsa <version> serving on <host:port> ..." says the broker is ready.
 *
 * Shutdown on SIGTERM or SIGINT, in dependency order: stop the transaction
 * coordinator (it answers the changes it has written) and the group
 * coordinator, stop accepting and close connections while parked requests
 * finish (net_server_shutdown),
 * close the topics (each partition detaches from the flusher and syncs),
 * stop the flusher, then stop the reactors (still running until here, so
 * callbacks posted by the steps before land), free everything, exit 0. Signals are blocked in
 * every thread and taken synchronously with sigwait() by the main thread, so
 * no handler runs in the middle of anything. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "cli/commands.h"
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/fetch_wait.h"
#include "log/flusher.h"
#include "log/cleaner.h"
#include "log/retention.h"
#include "meta/topics.h"
#include "net/server.h"
#include "txn/coordinator.h"
#include "txn/pid.h"
#include "txn/producer_state.h"

#define SHUTDOWN_TIMEOUT_MS 10000

extern char **environ;
extern const char samsa_version[]; /* cli/main.c */


static void serve_usage(FILE *out)
{
	fprintf(out,
		"Usage: samsa serve [server.properties] [--set key=value ...]\n\n"
		"Runs a broker. Configuration uses Kafka's key names; later sources win:\n"
		"  1. built-in defaults (listeners=PLAINTEXT://:9092, log.dirs=./data, ...)\n"
		"  2. the properties file, if given\n"
		"  3. KAFKA_* environment variables (KAFKA_LOG_DIRS -> log.dirs)\n"
		"  4. --set key=value (also --override key=value), repeatable\n"
		"SIGTERM or SIGINT shuts the broker down cleanly.\n");
}

/* ---- data directory ------------------------------------------------------- */

static int mkdir_p(const char *path, char errmsg[ERRMSG_SIZE])
{
	char *copy = xstrdup(path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			err_printf(errmsg, "cannot create %s: %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int rc = 0;
	if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
		err_printf(errmsg, "cannot create %s: %s", copy, strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

/* Kafka's Uuid.randomUuid() as a string: 16 random bytes (a version-4 UUID),
 * base64url without padding, 22 characters, never starting with '-'. */
static int random_cluster_id(char out[23])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t b[18];
	do {
		if (getrandom(b, 16, 0) != 16)
			return -1;
		b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
		b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
		b[16] = b[17] = 0;
		int o = 0;
		for (int i = 0; i < 18 && o < 22; i += 3) {
			uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
			for (int k = 0; k < 4 && o < 22; k++)
				out[o++] = alphabet[(v >> (18 - 6 * k)) & 63];
		}
		out[22] = '\0';
	} while (out[0] == '-');
	return 0;
}

static int write_meta_properties(const char *dir, const char *cluster_id, int32_t node_id, char errmsg[ERRMSG_SIZE])
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof(path), "%s/meta.properties", dir);
	snprintf(tmp, sizeof(tmp), "%s/meta.properties.tmp", dir);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		err_printf(errmsg, "cannot write %.200s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "#\n#Written by samsa %s\ncluster.id=%s\nnode.id=%d\nversion=1\n", samsa_version, cluster_id,
		(int)node_id);
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fs_fsync_dir(dir);
	if (rc < 0) {
		err_printf(errmsg, "cannot write %.200s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

/* Reads (or creates) <dir>/meta.properties: the cluster id is generated once
 * and kept, and a node.id that differs from the stored one is refused, as
 * Kafka refuses it, since the data belongs to that node. */
static int load_meta_properties(const char *dir, int32_t node_id, char cluster_id[32], char errmsg[ERRMSG_SIZE])
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/meta.properties", dir);
	if (access(path, F_OK) < 0) {
		char id[23];
		if (random_cluster_id(id) < 0) {
			err_printf(errmsg, "getrandom: %s", strerror(errno));
			return -1;
		}
		if (write_meta_properties(dir, id, node_id, errmsg) < 0)
			return -1;
		snprintf(cluster_id, 32, "%s", id);
		log_info("serve", "new data directory %s: cluster id %s, node id %d", dir, id, (int)node_id);
		return 0;
	}
	struct config *meta = config_new();
	char why[ERRMSG_SIZE];
	int rc = config_load_file(meta, path, why);
	if (rc < 0) {
		err_printf(errmsg, "%.200s", why);
		config_free(meta);
		return -1;
	}
	const char *id = config_get(meta, "cluster.id");
	if (!id || !*id || strlen(id) >= 32) {
		err_printf(errmsg, "%.200s has no valid cluster.id", path);
		config_free(meta);
		return -1;
	}
	if (config_is_set(meta, "node.id") && config_get_int(meta, "node.id") != node_id) {
		err_printf(errmsg, "%.200s belongs to node.id %lld, but node.id is %d", path,
			   (long long)config_get_int(meta, "node.id"), (int)node_id);
		config_free(meta);
		return -1;
	}
	snprintf(cluster_id, 32, "%s", id);
	config_free(meta);
	return 0;
}

/* Kafka's .lock: one broker per data directory. The fd stays open (and
 * locked) until exit. */
static int lock_data_dir(const char *dir, char errmsg[ERRMSG_SIZE])
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_printf(errmsg, "cannot open %.200s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		if (err == EWOULDBLOCK)
			err_printf(errmsg, "data directory %.200s is in use by another broker", dir);
		else
			err_printf(errmsg, "cannot lock %.200s: %s", path, strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- configuration -------------------------------------------------------- */

static int apply_set(struct config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		fprintf(stderr, "samsa serve: --set expects key=value, got '%s'\n", arg);
		return -1;
	}
	char *key = xstrndup(arg, (size_t)(eq - arg));
	char errmsg[ERRMSG_SIZE];
	int rc = config_set(cfg, key, eq + 1, errmsg);
	free(key);
	if (rc < 0) {
		fprintf(stderr, "samsa serve: --set %s\n", errmsg);
		return -1;
	}
	return 0;
}

/* Returns the config, NULL on error, or sets *exit_now for --help. */
static struct config *load_config(int argc, char **argv, bool *exit_now)
{
	const char *file = NULL;
	*exit_now = false;
	/* validate arguments before reading anything */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			serve_usage(stdout);
			*exit_now = true;
			return NULL;
		}
		if (strcmp(a, "--set") == 0 || strcmp(a, "--override") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "samsa serve: %s needs key=value\n", a);
				return NULL;
			}
		} else if (strncmp(a, "--set=", 6) == 0 || strncmp(a, "--override=", 11) == 0) {
			continue;
		} else if (a[0] == '-') {
			fprintf(stderr, "samsa serve: unknown option '%s'\n\n", a);
			serve_usage(stderr);
			return NULL;
		} else if (file) {
			fprintf(stderr, "samsa serve: one properties file only ('%s' and '%s')\n", file, a);
			return NULL;
		} else {
			file = a;
		}
	}
	struct config *cfg = config_new();
	char errmsg[ERRMSG_SIZE];
	if (file && config_load_file(cfg, file, errmsg) < 0) {
		fprintf(stderr, "samsa serve: %s\n", errmsg);
		goto fail;
	}
	if (config_load_env(cfg, environ, errmsg) < 0) {
		fprintf(stderr, "samsa serve: %s\n", errmsg);
		goto fail;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *kv = NULL;
		if (strcmp(a, "--set") == 0 || strcmp(a, "--override") == 0)
			kv = argv[++i];
		else if (strncmp(a, "--set=", 6) == 0)
			kv = a + 6;
		else if (strncmp(a, "--override=", 11) == 0)
			kv = a + 11;
		if (kv && apply_set(cfg, kv) < 0)
			goto fail;
	}
	if (file)
		log_info("serve", "configuration from %s", file);
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

/* Logs every explicitly set key at INFO (secrets redacted), and the unknown
 * ones once, together. */
static void log_config(const struct config *cfg)
{
	int total = config_list(cfg, NULL, NULL, 0);
	const char **keys = xcalloc((size_t)total + 1, sizeof(*keys));
	const char **values = xcalloc((size_t)total + 1, sizeof(*values));
	config_list(cfg, keys, values, total);
	char unknown[1024] = "";
	size_t ulen = 0;
	for (int i = 0; i < total; i++) {
		if (!config_is_set(cfg, keys[i]))
			continue;
		log_info("config", "%s=%s", keys[i], config_is_sensitive(keys[i]) ? "[hidden]" : values[i]);
		if (!config_is_known(keys[i]) && ulen < sizeof(unknown) - 1) {
			int n = snprintf(unknown + ulen, sizeof(unknown) - ulen, "%s%s", ulen ? ", " : "", keys[i]);
			if (n > 0)
				ulen += (size_t)n;
		}
	}
	if (ulen)
		log_info("config", "not used by samsa (kept as given): %s", unknown);
	free(keys);
	free(values);
}

/* The first of log.dirs; samsa keeps one data directory. */
static char *data_dir_from_config(const struct config *cfg)
{
	const char *dirs = config_get(cfg, "log.dirs");
	const char *comma = strchr(dirs, ',');
	char *dir = xstrndup(dirs, comma ? (size_t)(comma - dirs) : strlen(dirs));
	char *s = dir;
	while (*s == ' ')
		s++;
	memmove(dir, s, strlen(s) + 1);
	size_t len = strlen(dir);
	while (len > 1 && (dir[len - 1] == ' ' || dir[len - 1] == '/'))
		dir[--len] = '\0';
	if (comma)
		log_warn("serve", "log.dirs lists several directories; samsa uses the first, %s", dir);
	return dir;
}

/* ---- retention ------------------------------------------------------------ */

/* True if a cleanup.policy list names "delete". */
static bool policy_has_delete(const char *policy)
{
	for (const char *p = policy; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && p[m - 1] == ' ')
			m--;
		if (m == 6 && strncmp(p, "delete", 6) == 0)
			return true;
		p += n;
	}
	return false;
}

/* Every log.retention.check.interval.ms: retention on each partition of the
 * topics whose cleanup.policy contains "delete". */
static void retention_pass(void *arg, int64_t now_ms)
{
	struct meta_topics *topics = arg;
	struct meta_topic **list;
	int n = meta_topic_list(topics, &list);
	for (int i = 0; i < n; i++) {
		char buf[64];
		if (!policy_has_delete(meta_topic_config_value(topics, list[i], "cleanup.policy", buf, sizeof(buf))))
			continue;
		for (int32_t p = 0; p < list[i]->partition_count; p++)
			log_partition_apply_retention(list[i]->partitions[p], now_ms, NULL);
	}
	meta_topic_list_free(topics, list, n);
}

/* ---- open files ------------------------------------------------------------ */

/* Every partition holds its active segment's files open and every client a
 * socket, so the usual soft limit of 1024 open files is soon reached. Take
 * the hard limit, as the JVM does for Kafka (-XX:+MaxFDLimit). */
static void raise_open_files_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && rl.rlim_max == RLIM_INFINITY) {
			rl.rlim_cur = 1 << 20; /* fs.nr_open's default */
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	log_info("serve", "open files limit %llu%s", (unsigned long long)rl.rlim_cur,
		 rl.rlim_cur != was ? " (raised to the hard limit)" : "");
}

/* ---- transactions ---------------------------------------------------------- */

/* The transaction coordinator's hooks (txn/coordinator.h): a marker in
 * __consumer_offsets goes through the group coordinator, which owns the
 * pending transactional offsets there; written markers move last stable
 * offsets, so parked read_committed fetches look again. */
static int txn_offsets_marker(void *arg, int32_t partition, int64_t producer_id, int16_t epoch, bool commit,
			      int32_t coordinator_epoch, int64_t *marker_offset)
{
	struct broker *broker = arg;
	return group_txn_end(broker->groups, partition, producer_id, epoch, commit, coordinator_epoch, marker_offset);
}

static void txn_markers_written(void *arg)
{
	kafka_fetch_wait_notify(arg);
}

/* ---- serve ---------------------------------------------------------------- */

int cli_serve_main(int argc, char **argv)
{
	/* Before any thread exists, so every thread inherits the mask and the
	 * signals reach sigwait() below. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an EPIPE, not a death */
	/* Request frames of up to a few MiB come and go at a high rate. Left to
	 * glibc's defaults they are mmapped and unmapped each time, and every
	 * produce faults in fresh zeroed pages; keep them in the heap instead. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);

	bool exit_now;
	struct config *cfg = load_config(argc, argv, &exit_now);
	if (!cfg)
		return exit_now ? 0 : 1;
	log_set_level((enum log_level)log_level_parse(config_get(cfg, "log.level")));
	log_config(cfg);
	raise_open_files_limit();

	int exit_code = 1;
	char errmsg[ERRMSG_SIZE];
	char *data_dir = data_dir_from_config(cfg);
	int lock_fd = -1;
	struct log_flusher *flusher = NULL;
	struct meta_topics *topics = NULL;
	struct net_server *srv = NULL;
	struct broker broker = {0};
	struct log_retention *retention = NULL;
	struct log_cleaner *cleaner = NULL;

	struct net_endpoint bind, adv;
	if (net_listeners_resolve(cfg, &bind, &adv, errmsg) < 0) {
		log_error("serve", "%s", errmsg);
		goto out;
	}
	/* Bind first: a port in use fails fast, before anything touches disk. */
	srv = net_server_new(&broker, cfg, &bind, (int)config_get_int(cfg, "num.network.threads"), errmsg);
	if (!srv) {
		log_error("serve", "%s", errmsg);
		goto out;
	}
	if (mkdir_p(data_dir, errmsg) < 0 || (lock_fd = lock_data_dir(data_dir, errmsg)) < 0) {
		log_error("serve", "%s", errmsg);
		goto out;
	}
	broker.config = cfg;
	broker.node_id = (int32_t)config_get_int(cfg, "node.id");
	if (load_meta_properties(data_dir, broker.node_id, broker.cluster_id, errmsg) < 0) {
		log_error("serve", "%s", errmsg);
		goto out;
	}
	broker.pids = txn_pids_open(data_dir, errmsg);
	if (!broker.pids) {
		log_error("serve", "%s", errmsg);
		goto out;
	}
	/* Before any partition opens: each loads its producer state. */
	txn_partition_state_install(config_get_int(cfg, "producer.id.expiration.ms"));
	flusher = log_flusher_start();
	topics = meta_topics_open(data_dir, cfg, flusher, errmsg);
	if (!topics) {
		log_error("serve", "cannot open the topics in %s: %s", data_dir, errmsg);
		goto out;
	}
	broker.topics = topics;
	broker.flusher = flusher;
	snprintf(broker.advertised_host, sizeof(broker.advertised_host), "%s", adv.host);
	broker.advertised_port = adv.port ? adv.port : net_server_port(srv);
	broker.reactor_count = net_server_reactor_count(srv);
	broker.reactors = net_server_reactors(srv);
	broker.fetch_waiters = kafka_fetch_waiters_new(broker.reactors, broker.reactor_count);
	broker.groups = group_coordinator_open(cfg, topics, flusher, NULL, errmsg);
	if (!broker.groups) {
		log_error("serve", "cannot start the group coordinator: %s", errmsg);
		goto out;
	}
	const struct txn_hooks txn_hooks = {txn_offsets_marker, txn_markers_written, &broker};
	broker.txns = txn_coordinator_open(cfg, topics, flusher, broker.pids, &txn_hooks, NULL, errmsg);
	if (!broker.txns) {
		log_error("serve", "cannot start the transaction coordinator: %s", errmsg);
		goto out;
	}

	retention = log_retention_start(config_get_int(cfg, "log.retention.check.interval.ms"), retention_pass, topics);
	if (config_get_bool(cfg, "log.cleaner.enable"))
		cleaner = log_cleaner_start(config_get_int(cfg, "log.cleaner.backoff.ms"), meta_topics_clean_round, topics);

	if (net_server_start(srv, errmsg) < 0) {
		log_error("serve", "%s", errmsg);
		net_server_shutdown(srv, SHUTDOWN_TIMEOUT_MS);
		goto out;
	}
	log_info("serve", "samsa %s serving on %s:%d (advertised %s:%d), data in %s, %d reactor threads", samsa_version,
		 *bind.host ? bind.host : "*", net_server_port(srv), broker.advertised_host, broker.advertised_port,
		 data_dir, broker.reactor_count);

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("serve", "%s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	txn_coordinator_stop(broker.txns); /* answers what it has written; writes markers through the groups */
	group_coordinator_stop(broker.groups); /* parked JoinGroup/SyncGroup answer NOT_COORDINATOR */
	net_server_shutdown(srv, SHUTDOWN_TIMEOUT_MS);
	exit_code = 0;

out:
	/* Topics before the flusher (closing a partition detaches it from the
	 * flusher and syncs it), and both before the reactors stop, so callbacks
	 * they post still land on a running reactor. */
	log_cleaner_stop(cleaner); /* walks the topics: before they close */
	log_retention_stop(retention); /* walks the topics: before they close */
	txn_coordinator_close(broker.txns); /* holds __transaction_state, calls the groups: before both */
	group_coordinator_close(broker.groups); /* holds __consumer_offsets: before the topics */
	if (topics)
		meta_topics_close(topics);
	if (flusher)
		log_flusher_stop(flusher);
	net_server_free(srv);
	if (broker.fetch_waiters)
		kafka_fetch_waiters_free(broker.fetch_waiters);
	txn_pids_close(broker.pids);
	if (lock_fd >= 0)
		close(lock_fd);
	free(data_dir);
	config_free(cfg);
	if (exit_code == 0)
		log_info("serve", "stopped");
	return exit_code;
}
