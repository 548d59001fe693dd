/* Listeners and reactor threads.
 *
 * Each reactor thread has its own listening socket bound to the same address
 * with SO_REUSEPORT, so the kernel spreads incoming connections over the
 * threads and a connection stays on the thread that accepted it for its
 * whole life (DESIGN.md, Concurrency). SO_REUSEPORT would also let a second
 * broker started on the same port silently share it, so the address is first
 * probed with a plain bind: a port in use fails start-up with a clear error,
 * as Kafka does.
 *
 * This file also turns Kafka's `listeners` / `advertised.listeners` strings
 * into the endpoint to bind and the one to advertise. */
#include "net/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kafka/dispatch.h"
#include "net/conn.h"
#include "net/reactor.h"

#define LISTEN_BACKLOG 1024
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_MS 100 /* after EMFILE and friends */

struct net_server {
	struct broker *broker;
	struct net_limits limits;
	atomic_int live_conns;
	atomic_int shutdown_done;
	int port;
	int count;
	struct net_worker *workers;
	struct reactor **reactors;
};

/* ---- listener strings ----------------------------------------------------- */

static void trim_span(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

int net_endpoint_parse(const char *text, size_t len, struct net_endpoint *out, char errmsg[ERRMSG_SIZE])
{
	memset(out, 0, sizeof(*out));
	trim_span(&text, &len);
	const char *sep = memmem(text, len, "://", 3);
	if (!sep || sep == text) {
		err_printf(errmsg, "listener '%.*s' is not of the form NAME://host:port", (int)len, text);
		return -EINVAL;
	}
	size_t name_len = (size_t)(sep - text);
	if (name_len >= sizeof(out->name)) {
		err_printf(errmsg, "listener name too long in '%.*s'", (int)len, text);
		return -EINVAL;
	}
	for (size_t i = 0; i < name_len; i++) {
		char c = text[i];
		if (!isalnum((unsigned char)c) && c != '_' && c != '-') {
			err_printf(errmsg, "invalid listener name in '%.*s'", (int)len, text);
			return -EINVAL;
		}
		out->name[i] = (char)toupper((unsigned char)c);
	}
	const char *rest = sep + 3;
	size_t rest_len = len - name_len - 3;
	const char *host = rest, *port_str;
	size_t host_len;
	if (rest_len && rest[0] == '[') {
		const char *close = memchr(rest, ']', rest_len);
		if (!close || (size_t)(close - rest) + 1 >= rest_len || close[1] != ':') {
			err_printf(errmsg, "bad IPv6 address in listener '%.*s'", (int)len, text);
			return -EINVAL;
		}
		host = rest + 1;
		host_len = (size_t)(close - host);
		port_str = close + 2;
	} else {
		const char *colon = NULL;
		for (size_t i = 0; i < rest_len; i++)
			if (rest[i] == ':')
				colon = rest + i;
		if (!colon) {
			err_printf(errmsg, "listener '%.*s' has no port", (int)len, text);
			return -EINVAL;
		}
		host_len = (size_t)(colon - rest);
		port_str = colon + 1;
	}
	if (host_len >= sizeof(out->host)) {
		err_printf(errmsg, "host name too long in listener '%.*s'", (int)len, text);
		return -EINVAL;
	}
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	size_t port_len = (size_t)(text + len - port_str);
	long port = 0;
	if (port_len == 0 || port_len > 5) {
		err_printf(errmsg, "bad port in listener '%.*s'", (int)len, text);
		return -EINVAL;
	}
	for (size_t i = 0; i < port_len; i++) {
		if (!isdigit((unsigned char)port_str[i])) {
			err_printf(errmsg, "bad port in listener '%.*s'", (int)len, text);
			return -EINVAL;
		}
		port = port * 10 + (port_str[i] - '0');
	}
	if (port > 65535) {
		err_printf(errmsg, "port out of range in listener '%.*s'", (int)len, text);
		return -EINVAL;
	}
	out->port = (int)port;
	return 0;
}

/* Looks name up in a comma-separated list of NAME:VALUE pairs (the
 * security protocol map). Copies the value into out. */
static bool map_lookup(const char *map, const char *name, char *out, size_t out_size)
{
	const char *p = map;
	size_t name_len = strlen(name);
	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *s = p;
		size_t len = (size_t)(end - p);
		trim_span(&s, &len);
		const char *colon = memchr(s, ':', len);
		if (colon) {
			const char *k = s, *v = colon + 1;
			size_t klen = (size_t)(colon - s), vlen = len - klen - 1;
			trim_span(&k, &klen);
			trim_span(&v, &vlen);
			if (klen == name_len && strncasecmp(k, name, klen) == 0 && vlen < out_size) {
				for (size_t i = 0; i < vlen; i++)
					out[i] = (char)toupper((unsigned char)v[i]);
				out[vlen] = '\0';
				return true;
			}
		}
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static bool list_contains(const char *list, const char *name)
{
	const char *p = list;
	size_t name_len = strlen(name);
	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *s = p;
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		trim_span(&s, &len);
		if (len == name_len && strncasecmp(s, name, len) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* Finds the listener called name in a listener list; returns 1 if found,
 * 0 if not, <0 on a parse error. */
static int listeners_find(const char *list, const char *name, struct net_endpoint *out, char errmsg[ERRMSG_SIZE])
{
	const char *p = list;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *s = p;
		trim_span(&s, &len);
		if (len) {
			int rc = net_endpoint_parse(s, len, out, errmsg);
			if (rc < 0)
				return rc;
			if (strcmp(out->name, name) == 0)
				return 1;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static bool host_is_wildcard(const char *host)
{
	return !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

int net_listeners_resolve(const struct config *cfg, struct net_endpoint *bind, struct net_endpoint *advertised,
			  char errmsg[ERRMSG_SIZE])
{
	const char *listeners = config_get(cfg, "listeners");
	const char *proto_map = config_get(cfg, "listener.security.protocol.map");
	const char *controllers = config_get(cfg, "controller.listener.names");
	bool found = false;
	const char *p = listeners ? listeners : "";
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *s = p;
		trim_span(&s, &len);
		p = comma ? comma + 1 : p + strlen(p);
		if (!len)
			continue;
		struct net_endpoint ep;
		int rc = net_endpoint_parse(s, len, &ep, errmsg);
		if (rc < 0)
			return rc;
		char proto[32];
		if (!map_lookup(proto_map ? proto_map : "", ep.name, proto, sizeof(proto))) {
			err_printf(errmsg, "listener %s has no entry in listener.security.protocol.map", ep.name);
			return -EINVAL;
		}
		if (controllers && list_contains(controllers, ep.name))
			continue; /* KRaft controller listener: not served by a broker */
		if (found || strcmp(proto, "PLAINTEXT") != 0) {
			log_warn("net", "ignoring listener %s://%s:%d (%s): only one PLAINTEXT listener is served", ep.name,
				 ep.host, ep.port, proto);
			continue;
		}
		*bind = ep;
		found = true;
	}
	if (!found) {
		err_printf(errmsg, "no PLAINTEXT listener in listeners=%s", listeners ? listeners : "");
		return -EINVAL;
	}
	const char *adv_list = config_get(cfg, "advertised.listeners");
	int rc = listeners_find(adv_list ? adv_list : "", bind->name, advertised, errmsg);
	if (rc < 0)
		return rc;
	if (rc == 0)
		*advertised = *bind;
	if (host_is_wildcard(advertised->host))
		snprintf(advertised->host, sizeof(advertised->host), "localhost");
	return 0;
}

/* ---- sockets -------------------------------------------------------------- */

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t out_size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
		snprintf(out, out_size, "%s:%d", ip, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(out, out_size, "%s:%d", ip, port);
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			snprintf(out, out_size, "[%s]:%d", ip, port);
		}
	} else {
		snprintf(out, out_size, "unknown");
	}
}

/* Resolves host to an address to bind. "" is every interface, IPv6 and IPv4
 * when the system has IPv6 (dual_stack set), else 0.0.0.0. A name prefers
 * its IPv4 address, which is what "localhost" clients try first. */
static int resolve_bind(const char *host, int port, bool want_v6_any, struct sockaddr_storage *ss, socklen_t *len,
			char errmsg[ERRMSG_SIZE])
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (!*host) {
		if (want_v6_any) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = in6addr_any;
			sin6->sin6_port = htons((uint16_t)port);
			*len = sizeof(*sin6);
		} else {
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
			sin->sin_port = htons((uint16_t)port);
			*len = sizeof(*sin);
		}
		return 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		err_printf(errmsg, "cannot resolve listener host '%.200s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	struct addrinfo *pick = res;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*len = pick->ai_addrlen;
	if (ss->ss_family == AF_INET)
		sin->sin_port = htons((uint16_t)port);
	else
		sin6->sin6_port = htons((uint16_t)port);
	freeaddrinfo(res);
	return 0;
}

static int listen_socket(const struct sockaddr_storage *ss, socklen_t len, bool reuseport, bool do_listen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || (do_listen && listen(fd, LISTEN_BACKLOG) < 0)) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Binds count listening sockets to host:port into fds. Returns the port bound
 * or -errno with errmsg. */
static int bind_all(const struct net_endpoint *ep, int count, int *fds, char errmsg[ERRMSG_SIZE])
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool v6_any = !*ep->host;
	int port = ep->port;
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc = resolve_bind(ep->host, port, v6_any, &ss, &len, errmsg);
		if (rc < 0)
			return rc;
		if (port) {
			/* probe without SO_REUSEPORT: fails if anyone listens here */
			int probe = listen_socket(&ss, len, false, false);
			if (probe >= 0)
				close(probe);
			else
				rc = probe;
		}
		for (int i = 0; rc == 0 && i < count; i++) {
			int fd = listen_socket(&ss, len, true, true);
			if (fd < 0) {
				rc = fd;
				break;
			}
			fds[i] = fd;
			if (port == 0) { /* ephemeral: the others join the port the first got */
				port = bound_port(fd);
				if (ss.ss_family == AF_INET)
					((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
				else
					((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
			}
		}
		if (rc == 0)
			return port;
		for (int i = 0; i < count; i++) {
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = -1;
		}
		if (v6_any && (rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL)) {
			v6_any = false; /* no IPv6 here: every IPv4 interface instead */
			port = ep->port;
			continue;
		}
		if (rc == -EADDRINUSE)
			err_printf(errmsg, "cannot listen on %.200s:%d: port %d is already in use",
				   *ep->host ? ep->host : "*", ep->port, ep->port);
		else
			err_printf(errmsg, "cannot listen on %.200s:%d: %s", *ep->host ? ep->host : "*", ep->port,
				   strerror(-rc));
		return rc;
	}
	return -EINVAL;
}

/* ---- accepting ------------------------------------------------------------ */

static void worker_on_accept(void *arg, uint32_t events);

static void worker_resume_accept(void *arg)
{
	struct net_worker *worker = arg;
	worker->accept_timer = NULL;
	if (worker->listen_fd >= 0)
		reactor_mod_fd(worker->reactor, worker->listen_fd, EPOLLIN, worker_on_accept, worker);
}

static void worker_on_accept(void *arg, uint32_t events)
{
	(void)events;
	struct net_worker *worker = arg;
	for (int i = 0; i < ACCEPTS_PER_EVENT && worker->listen_fd >= 0; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(worker->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			if (err == EINTR || err == ECONNABORTED || err == EPROTO)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return;
			/* Out of fds or memory: the listening socket stays readable, so
			 * stop watching it for a moment instead of spinning. */
			log_warn("net", "accept: %s; pausing accepts for %d ms", strerror(err), ACCEPT_PAUSE_MS);
			reactor_mod_fd(worker->reactor, worker->listen_fd, 0, worker_on_accept, worker);
			worker->accept_timer = reactor_timer_add(worker->reactor, ACCEPT_PAUSE_MS, worker_resume_accept, worker);
			return;
		}
		char peer[64];
		format_peer(&ss, peer, sizeof(peer));
		conn_open(worker, fd, peer);
	}
}

static void *worker_main(void *arg)
{
	struct net_worker *worker = arg;
	reactor_run(worker->reactor);
	return NULL;
}

/* ---- the server ----------------------------------------------------------- */

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

struct net_server *net_server_new(struct broker *broker, const struct config *cfg, const struct net_endpoint *bind,
				  int threads, char errmsg[ERRMSG_SIZE])
{
	if (threads <= 0)
		threads = online_cpus();
	int *fds = xmalloc((size_t)threads * sizeof(*fds));
	for (int i = 0; i < threads; i++)
		fds[i] = -1;
	int port = bind_all(bind, threads, fds, errmsg);
	if (port < 0) {
		free(fds);
		return NULL;
	}
	struct net_server *srv = xcalloc(1, sizeof(*srv));
	srv->broker = broker;
	srv->limits.max_request_bytes = config_get_int(cfg, "socket.request.max.bytes");
	srv->limits.idle_ms = config_get_int(cfg, "connections.max.idle.ms");
	srv->limits.max_connections = config_get_int(cfg, "max.connections");
	atomic_init(&srv->live_conns, 0);
	atomic_init(&srv->shutdown_done, 0);
	srv->port = port;
	srv->count = threads;
	srv->workers = xcalloc((size_t)threads, sizeof(*srv->workers));
	srv->reactors = xcalloc((size_t)threads, sizeof(*srv->reactors));
	for (int i = 0; i < threads; i++) {
		struct net_worker *worker = &srv->workers[i];
		worker->srv = srv;
		worker->reactor = srv->reactors[i] = reactor_new(i);
		worker->broker = broker;
		worker->limits = &srv->limits;
		worker->live_conns = &srv->live_conns;
		worker->listen_fd = fds[i];
	}
	free(fds);
	return srv;
}

int net_server_port(const struct net_server *srv)
{
	return srv->port;
}

int net_server_reactor_count(const struct net_server *srv)
{
	return srv->count;
}

struct reactor **net_server_reactors(struct net_server *srv)
{
	return srv->reactors;
}

int net_server_start(struct net_server *srv, char errmsg[ERRMSG_SIZE])
{
	for (int i = 0; i < srv->count; i++) {
		struct net_worker *worker = &srv->workers[i];
		/* Registered before the thread exists, so no other thread races. */
		int rc = reactor_add_fd(worker->reactor, worker->listen_fd, EPOLLIN, worker_on_accept, worker);
		if (rc < 0) {
			err_printf(errmsg, "epoll_ctl: %s", strerror(-rc));
			return rc;
		}
		rc = pthread_create(&worker->thread, NULL, worker_main, worker);
		if (rc != 0) {
			err_printf(errmsg, "cannot start reactor thread: %s", strerror(rc));
			return -rc;
		}
		worker->thread_started = true;
	}
	return 0;
}

static void worker_stop_listening(struct net_worker *worker)
{
	if (worker->accept_timer) {
		reactor_timer_cancel(worker->reactor, worker->accept_timer);
		worker->accept_timer = NULL;
	}
	if (worker->listen_fd >= 0) {
		reactor_del_fd(worker->reactor, worker->listen_fd);
		close(worker->listen_fd);
		worker->listen_fd = -1;
	}
}

static void worker_shutdown(void *arg)
{
	struct net_worker *worker = arg;
	worker_stop_listening(worker);
	conn_close_all(worker);
	kafka_reactor_shutdown(worker->broker, worker->reactor);
	atomic_fetch_add(&worker->srv->shutdown_done, 1);
}

int net_server_shutdown(struct net_server *srv, int64_t timeout_ms)
{
	int posted = 0;
	for (int i = 0; i < srv->count; i++) {
		if (srv->workers[i].thread_started) {
			reactor_post(srv->reactors[i], worker_shutdown, &srv->workers[i]);
			posted++;
		}
	}
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct timespec pause = {0, 2 * 1000 * 1000};
	while (clock_mono_ms() < deadline &&
	       (atomic_load(&srv->shutdown_done) < posted || atomic_load(&srv->live_conns) > 0))
		nanosleep(&pause, NULL);
	int left = atomic_load(&srv->live_conns);
	if (left > 0)
		log_warn("net", "%d connection(s) still waiting on parked requests after %lld ms", left,
			 (long long)timeout_ms);
	return left;
}

void net_server_free(struct net_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < srv->count; i++)
		if (srv->workers[i].thread_started)
			reactor_stop(srv->reactors[i]);
	for (int i = 0; i < srv->count; i++) {
		struct net_worker *worker = &srv->workers[i];
		if (worker->thread_started)
			pthread_join(worker->thread, NULL);
		/* The thread is gone; this thread stands in for it from here on. */
		worker_stop_listening(worker);
		conn_close_all(worker);
		reactor_free(worker->reactor);
	}
	free(srv->workers);
	free(srv->reactors);
	free(srv);
}
