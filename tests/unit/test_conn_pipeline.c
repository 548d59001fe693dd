/* Connections end to end over real sockets, with this file's kafka_dispatch()
 * standing in for the kafka/ handlers (the static library's dispatch.o is then
 * never linked), so requests can be answered at once, parked and completed
 * later, answered with nothing (acks=0), or refused.
 *
 * Test protocol: api key 1000 + n selects what the fake handler does (keys
 * unknown to the schemas, so the header is read as v1), api version is a
 * parameter:
 *   0  answer at once
 *   1  park, answer after `version` ms (a reactor timer)
 *   2  no response (acks=0)
 *   3  refuse: DISPATCH_CLOSE
 *   4  park until the test releases every parked request
 *   5  answer at once with `version` KiB of padding
 * A response is the correlation id, the api key, then the padding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/request.h"
#include "net/conn.h"
#include "net/reactor.h"
#include "net/server.h"

/* ---- the fake handlers ----------------------------------------------------- */

#define K(n) (1000 + (n))

static atomic_int dispatched;
static atomic_int completed;
static atomic_int shutdown_calls;

#define MAX_HELD 4096
static struct request *held[MAX_HELD]; /* reactor thread only (one reactor) */
static int held_count;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void fake_respond(struct request *req)
{
	size_t pad = req->api_key == K(5) ? (size_t)req->api_version * 1024 : 0;
	uint8_t buf[10];
	put32(buf, (uint32_t)(6 + pad));
	put32(buf + 4, (uint32_t)req->correlation_id);
	buf[8] = (uint8_t)(req->api_key >> 8);
	buf[9] = (uint8_t)req->api_key;
	buf_chain_append(&req->response, buf, sizeof(buf));
	if (pad)
		memset(buf_chain_reserve(&req->response, pad), 'r', pad);
}

static void fake_timer(void *arg)
{
	struct request *req = arg;
	fake_respond(req);
	atomic_fetch_add(&completed, 1);
	request_complete(req);
}

enum dispatch_result kafka_dispatch(struct request *req)
{
	atomic_fetch_add(&dispatched, 1);
	switch (req->api_key) {
	case K(0):
	case K(5):
		fake_respond(req);
		return DISPATCH_DONE;
	case K(1):
		reactor_timer_add(req->reactor, req->api_version, fake_timer, req);
		return DISPATCH_PARKED;
	case K(2):
		kafka_respond_none(req);
		return DISPATCH_DONE;
	case K(4):
		held[held_count++] = req;
		return DISPATCH_PARKED;
	default:
		return DISPATCH_CLOSE;
	}
}

void kafka_respond_none(struct request *req)
{
	req->no_response = true;
}

void kafka_reactor_shutdown(struct broker *broker, struct reactor *reactor)
{
	(void)broker;
	(void)reactor;
	atomic_fetch_add(&shutdown_calls, 1);
}

static void release_held(void *arg)
{
	(void)arg;
	for (int i = 0; i < held_count; i++) {
		fake_respond(held[i]);
		atomic_fetch_add(&completed, 1);
		request_complete(held[i]);
	}
	held_count = 0;
}

/* ---- fixture ------------------------------------------------------------------ */

struct fixture {
	struct config *cfg;
	struct broker broker;
	struct net_server *srv;
	int port;
};

static struct fixture *fixture_start(const char *const *sets)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[ERRMSG_SIZE];
	fx->cfg = config_new();
	for (int i = 0; sets && sets[i]; i += 2)
		assert_int_equal(config_set(fx->cfg, sets[i], sets[i + 1], err), 0);
	struct net_endpoint ep = {.name = "PLAINTEXT", .host = "127.0.0.1", .port = 0};
	fx->srv = net_server_new(&fx->broker, fx->cfg, &ep, 1, err);
	assert_non_null(fx->srv);
	fx->port = net_server_port(fx->srv);
	assert_true(fx->port > 0);
	fx->broker.reactors = net_server_reactors(fx->srv);
	fx->broker.reactor_count = net_server_reactor_count(fx->srv);
	assert_int_equal(net_server_start(fx->srv, err), 0);
	atomic_store(&dispatched, 0);
	atomic_store(&completed, 0);
	return fx;
}

static void fixture_stop(struct fixture *fx)
{
	assert_int_equal(net_server_shutdown(fx->srv, 5000), 0);
	net_server_free(fx->srv);
	config_free(fx->cfg);
	free(fx);
}

static int client_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* A frame: size, api key, version, correlation id, client id "t", padding. */
static size_t make_request(uint8_t *buf, int16_t key, int16_t version, int32_t corr, size_t pad)
{
	size_t len = 2 + 2 + 4 + 2 + 1 + pad;
	put32(buf, (uint32_t)len);
	buf[4] = (uint8_t)(key >> 8);
	buf[5] = (uint8_t)key;
	buf[6] = (uint8_t)(version >> 8);
	buf[7] = (uint8_t)version;
	put32(buf + 8, (uint32_t)corr);
	buf[12] = 0;
	buf[13] = 1;
	buf[14] = 't';
	memset(buf + 15, 'p', pad);
	return 4 + len;
}

static void send_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void send_request(int fd, int16_t key, int16_t version, int32_t corr)
{
	uint8_t buf[64];
	send_all(fd, buf, make_request(buf, key, version, corr, 0));
}

static bool recv_all(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Next response's correlation id, or -1 if the connection closed. */
static int32_t recv_response(int fd)
{
	uint8_t buf[10];
	if (!recv_all(fd, buf, sizeof(buf)))
		return -1;
	uint32_t size = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	assert_true(size >= 6);
	static uint8_t sink[65536];
	for (size_t left = size - 6; left;) {
		size_t n = left < sizeof(sink) ? left : sizeof(sink);
		if (!recv_all(fd, sink, n))
			return -1;
		left -= n;
	}
	return (int32_t)((uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7]);
}

static bool peer_closed(int fd)
{
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static bool wait_for(atomic_int *counter, int value, int timeout_ms)
{
	for (int i = 0; i < timeout_ms && atomic_load(counter) < value; i++)
		sleep_ms(1);
	return atomic_load(counter) >= value;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_responses_in_request_order(void **state)
{
	(void)state;
	struct fixture *fx = fixture_start(NULL);
	int fd = client_connect(fx->port);
	send_request(fd, K(1), 60, 1); /* parked 60 ms */
	send_request(fd, K(0), 0, 2);  /* immediate, waits behind 1 */
	send_request(fd, K(1), 10, 3); /* parked 10 ms: finishes before 1 */
	send_request(fd, K(2), 0, 4);  /* no response */
	send_request(fd, K(0), 0, 5);
	for (int32_t corr = 1; corr <= 5; corr++) {
		if (corr == 4)
			continue;
		assert_int_equal(recv_response(fd), corr);
	}
	assert_int_equal(atomic_load(&dispatched), 5);
	close(fd);
	fixture_stop(fx);
}

static void test_refused_and_oversized_close(void **state)
{
	(void)state;
	const char *sets[] = {"socket.request.max.bytes", "100", NULL};
	struct fixture *fx = fixture_start(sets);

	int fd = client_connect(fx->port);
	send_request(fd, K(0), 0, 1);
	assert_int_equal(recv_response(fd), 1);
	send_request(fd, K(3), 0, 2); /* refused */
	assert_true(peer_closed(fd));
	close(fd);

	fd = client_connect(fx->port);
	uint8_t buf[256];
	size_t len = make_request(buf, K(0), 0, 1, 90); /* 101-byte frame > 100 */
	send_all(fd, buf, len);
	assert_true(peer_closed(fd));
	close(fd);

	fd = client_connect(fx->port);
	len = make_request(buf, K(0), 0, 7, 89); /* exactly 100: fine */
	send_all(fd, buf, len);
	assert_int_equal(recv_response(fd), 7);
	put32(buf, 0x80000000u); /* negative */
	send_all(fd, buf, 4);
	assert_true(peer_closed(fd));
	close(fd);

	fd = client_connect(fx->port);
	uint8_t tiny[7] = {0, 0, 0, 3, 0, 0, 0}; /* 3-byte frame: no header */
	send_all(fd, tiny, sizeof(tiny));
	assert_true(peer_closed(fd));
	close(fd);
	assert_int_equal(atomic_load(&dispatched), 3); /* oversized/tiny frames never reached dispatch */
	fixture_stop(fx);
}

/* The client goes away while a request is parked: the request still
 * completes (and is freed); nothing leaks (ASan), nothing crashes. */
static void test_close_with_parked_request(void **state)
{
	(void)state;
	struct fixture *fx = fixture_start(NULL);
	int fd = client_connect(fx->port);
	send_request(fd, K(0), 0, 1);
	send_request(fd, K(1), 80, 2);
	send_request(fd, K(0), 0, 3);
	send_request(fd, K(4), 0, 4);
	assert_int_equal(recv_response(fd), 1);
	assert_true(wait_for(&dispatched, 4, 2000));
	close(fd);
	assert_true(wait_for(&completed, 1, 2000)); /* the timer one */
	sleep_ms(20);
	reactor_post(net_server_reactors(fx->srv)[0], release_held, NULL);
	assert_true(wait_for(&completed, 2, 2000));
	fixture_stop(fx); /* shutdown reports 0 connections left */
}

/* A client that pipelines without limit is stopped at CONN_MAX_INFLIGHT
 * unanswered requests; when they complete it continues, in order. */
static void test_inflight_cap(void **state)
{
	(void)state;
	struct fixture *fx = fixture_start(NULL);
	int fd = client_connect(fx->port);
	enum { N = CONN_MAX_INFLIGHT + 500 };
	uint8_t *buf = malloc((size_t)N * 16);
	size_t len = 0;
	for (int i = 0; i < N; i++)
		len += make_request(buf + len, K(4), 0, i, 0);
	send_all(fd, buf, len);
	free(buf);
	assert_true(wait_for(&dispatched, CONN_MAX_INFLIGHT, 3000));
	sleep_ms(100);
	assert_int_equal(atomic_load(&dispatched), CONN_MAX_INFLIGHT);
	for (int round = 0; round < 10 && atomic_load(&completed) < N; round++) {
		reactor_post(net_server_reactors(fx->srv)[0], release_held, NULL);
		sleep_ms(50);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(recv_response(fd), i);
	assert_int_equal(atomic_load(&dispatched), N);
	close(fd);
	fixture_stop(fx);
}

/* A client that asks for big responses and does not read them stops being
 * read once CONN_MAX_QUEUED_BYTES wait in its output; reading resumes as it
 * drains, and every response arrives, in order. */
static void test_output_backpressure(void **state)
{
	(void)state;
	struct fixture *fx = fixture_start(NULL);
	int fd = client_connect(fx->port);
	enum { N = 200, KIB = 1024 }; /* 200 responses of 1 MiB */
	uint8_t *buf = malloc((size_t)N * 16);
	size_t len = 0;
	for (int i = 0; i < N; i++)
		len += make_request(buf + len, K(5), KIB, i, 0);
	send_all(fd, buf, len);
	free(buf);
	sleep_ms(300);
	int seen = atomic_load(&dispatched);
	/* 64 MiB of output plus what the kernel buffers took */
	assert_true(seen >= (int)(CONN_MAX_QUEUED_BYTES >> 20));
	assert_true(seen < N);
	for (int i = 0; i < N; i++)
		assert_int_equal(recv_response(fd), i);
	assert_int_equal(atomic_load(&dispatched), N);
	close(fd);
	fixture_stop(fx);
}

static void test_idle_connection_closed(void **state)
{
	(void)state;
	const char *sets[] = {"connections.max.idle.ms", "150", NULL};
	struct fixture *fx = fixture_start(sets);
	int fd = client_connect(fx->port);
	send_request(fd, K(0), 0, 1);
	assert_int_equal(recv_response(fd), 1);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_true(peer_closed(fd));
	close(fd);
	/* a parked request keeps the connection open past the idle limit */
	fd = client_connect(fx->port);
	send_request(fd, K(1), 400, 2);
	assert_int_equal(recv_response(fd), 2);
	close(fd);
	fixture_stop(fx);
}

/* Shutdown with a request parked: the connection is closed, the request
 * still completes, shutdown waits for it and then reports nothing left. */
static void test_shutdown_waits_for_parked(void **state)
{
	(void)state;
	struct fixture *fx = fixture_start(NULL);
	int before = atomic_load(&shutdown_calls);
	int fd = client_connect(fx->port);
	send_request(fd, K(1), 200, 1);
	assert_true(wait_for(&dispatched, 1, 2000));
	assert_int_equal(net_server_shutdown(fx->srv, 5000), 0);
	assert_int_equal(atomic_load(&completed), 1);
	assert_int_equal(atomic_load(&shutdown_calls), before + 1);
	assert_true(peer_closed(fd));
	close(fd);
	net_server_free(fx->srv);
	config_free(fx->cfg);
	free(fx);
}

/* Many connections at once, each pipelining, across several reactors. */
struct load_arg {
	int port;
	int id;
	bool ok;
};

static void *load_client(void *p)
{
	struct load_arg *a = p;
	int fd = client_connect(a->port);
	uint8_t buf[64 * 16];
	size_t len = 0;
	for (int i = 0; i < 64; i++)
		len += make_request(buf + len, (int16_t)(i % 3 == 0 ? K(1) : K(0)), 1, a->id * 1000 + i, 0);
	send_all(fd, buf, len);
	a->ok = true;
	for (int i = 0; i < 64; i++)
		if (recv_response(fd) != a->id * 1000 + i)
			a->ok = false;
	close(fd);
	return NULL;
}

static void test_many_connections(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	struct config *cfg = config_new();
	struct broker broker = {0};
	struct net_endpoint ep = {.name = "PLAINTEXT", .host = "127.0.0.1", .port = 0};
	struct net_server *srv = net_server_new(&broker, cfg, &ep, 3, err);
	assert_non_null(srv);
	assert_int_equal(net_server_reactor_count(srv), 3);
	assert_int_equal(net_server_start(srv, err), 0);
	enum { CLIENTS = 16 };
	pthread_t threads[CLIENTS];
	struct load_arg args[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		args[i] = (struct load_arg){net_server_port(srv), i, false};
		pthread_create(&threads[i], NULL, load_client, &args[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(threads[i], NULL);
		assert_true(args[i].ok);
	}
	assert_int_equal(net_server_shutdown(srv, 5000), 0);
	net_server_free(srv);
	config_free(cfg);
}

static void test_port_in_use(void **state)
{
	(void)state;
	struct fixture *fx = fixture_start(NULL);
	char err[ERRMSG_SIZE];
	struct broker broker = {0};
	struct net_endpoint ep = {.name = "PLAINTEXT", .host = "127.0.0.1", .port = fx->port};
	assert_null(net_server_new(&broker, fx->cfg, &ep, 2, err));
	assert_non_null(strstr(err, "already in use"));
	fixture_stop(fx);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responses_in_request_order),
		cmocka_unit_test(test_refused_and_oversized_close),
		cmocka_unit_test(test_close_with_parked_request),
		cmocka_unit_test(test_inflight_cap),
		cmocka_unit_test(test_output_backpressure),
		cmocka_unit_test(test_idle_connection_closed),
		cmocka_unit_test(test_shutdown_waits_for_parked),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_port_in_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
