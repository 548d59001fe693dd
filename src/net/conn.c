/* Connections: framing, request header parsing, the in-order response queue,
 * output buffering and backpressure. Everything here runs on the
 * connection's reactor thread.
 *
 * Input. A frame is a 4-byte big-endian size and that many bytes. The size is
 * checked against socket.request.max.bytes before anything is allocated for
 * the frame; a frame is then allocated at its exact size and filled as bytes
 * arrive. Small frames come through a fixed 16 KiB read buffer (several per
 * read(2)); once a frame is larger than what that buffer holds, the rest is
 * read straight into the frame. Nothing is read ahead beyond that buffer.
 *
 * Requests. Each frame becomes a struct request (kafka/request.h) appended to
 * the connection's FIFO and handed to kafka_dispatch() at once, so requests
 * behind a parked one (a long-poll fetch, an acks=all produce) are still
 * processed: clients pipeline. When the request at the head of the FIFO is
 * done, its response chain moves to the connection's output chain, so
 * responses leave in request order. A finished request frees its frame and
 * arena immediately, even when it waits behind a parked one: only its
 * response is kept.
 *
 * Output (Redis's pattern). Responses are not written when they are queued:
 * the connection registers a before_sleep callback that writes everything
 * queued in one writev/sendfile pass just before the reactor sleeps, and
 * EPOLLOUT is armed only while the socket would block.
 *
 * Backpressure. Reading stops (EPOLLIN is dropped) while CONN_MAX_INFLIGHT
 * requests are unanswered or CONN_MAX_QUEUED_BYTES of frames and responses
 * are held, and resumes when the client drains its responses. So a client
 * that pipelines without reading costs bounded memory.
 *
 * Lifetime. Closing a connection (peer gone, error, idle, shutdown) closes
 * the socket at once and frees finished requests, but a parked request keeps
 * the struct conn alive: its handler still calls request_complete(), which
 * then frees it, and the last one frees the conn. The conn itself is freed
 * only from its before_sleep callback, never inside a call chain that may
 * still hold a pointer to it. */
#include "net/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kafka/dispatch.h"
#include "kafka/request.h"
#include "net/reactor.h"
#include "proto/gen/api_table.h"
#include "proto/reader.h"

#define CONN_READS_PER_EVENT 16 /* fairness between connections of a reactor */
#define CONN_ARENA_FIRST_CHUNK 2048

struct conn {
	struct net_worker *worker;
	struct conn *prev, *next; /* worker->conns, while open */
	int fd;
	char peer[64];

	/* input: unparsed bytes are rbuf[rpos..rlen); a frame larger than those
	 * is filled in place (frame_have of frame_len bytes) */
	uint8_t *rbuf;
	size_t rpos, rlen;
	uint8_t *frame;
	size_t frame_len, frame_have;

	/* requests in arrival order; head is the next response to send */
	struct request *head, *tail;
	int inflight;         /* requests in the FIFO */
	size_t queued_bytes;  /* frames of unfinished requests + responses waiting in the FIFO */
	struct request *in_dispatch;

	struct buf_chain out; /* responses ready to write, in order */

	uint32_t events;      /* current epoll interest */
	bool read_paused;     /* backpressure: EPOLLIN dropped */
	bool resume_pending;  /* before_sleep should parse buffered input and re-arm EPOLLIN */
	bool write_blocked;   /* the socket would block: EPOLLOUT armed */
	bool bs_pending;      /* a before_sleep callback is registered */
	bool closed;          /* socket closed; waiting for parked requests */

	int64_t last_active_ms;
	struct reactor_timer *idle_timer;
};

static void conn_close(struct conn *conn);
static void conn_on_io(void *arg, uint32_t events);
static void conn_parse(struct conn *conn);
static void conn_write(struct conn *conn);

/* ---- helpers -------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool conn_over_limits(const struct conn *conn)
{
	return conn->inflight >= CONN_MAX_INFLIGHT || conn->queued_bytes + conn->out.len >= CONN_MAX_QUEUED_BYTES;
}

static void conn_update_events(struct conn *conn)
{
	if (conn->closed)
		return;
	uint32_t events = (conn->read_paused ? 0 : EPOLLIN) | (conn->write_blocked ? EPOLLOUT : 0);
	if (events == conn->events)
		return;
	int rc = reactor_mod_fd(conn->worker->reactor, conn->fd, events, conn_on_io, conn);
	if (rc < 0) {
		log_warn("net", "%s: epoll_ctl: %s; closing", conn->peer, strerror(-rc));
		conn_close(conn);
		return;
	}
	conn->events = events;
}

static void conn_before_sleep(void *arg);

static void conn_schedule(struct conn *conn)
{
	if (conn->bs_pending)
		return;
	conn->bs_pending = true;
	reactor_before_sleep(conn->worker->reactor, conn_before_sleep, conn);
}

static void conn_pause(struct conn *conn)
{
	if (conn->read_paused)
		return;
	log_debug("net", "%s: pausing reads (%d in flight, %zu bytes queued)", conn->peer, conn->inflight,
		  conn->queued_bytes + conn->out.len);
	conn->read_paused = true;
	conn_update_events(conn);
}

static void conn_maybe_resume(struct conn *conn)
{
	if (!conn->read_paused || conn->closed || conn_over_limits(conn))
		return;
	conn->read_paused = false;
	conn->resume_pending = true;
	conn_schedule(conn);
}

/* ---- requests ------------------------------------------------------------- */

static void request_free(struct request *req)
{
	if (req->arena)
		arena_free(req->arena);
	free(req->frame);
	buf_chain_fini(&req->response);
	free(req);
}

/* The handler is finished with req: drop what only decoding needed. */
static void request_finish(struct request *req)
{
	struct conn *conn = req->conn;
	if (req->arena) {
		arena_free(req->arena);
		req->arena = NULL;
		req->client_id = "";
		free(req->frame);
		req->frame = req->body = NULL;
		conn->queued_bytes -= req->frame_len;
		conn->queued_bytes += req->response.len;
	}
	req->done = true;
}

static void conn_unlink_request(struct conn *conn, struct request *req)
{
	struct request **pp = &conn->head, *prev = NULL;
	while (*pp && *pp != req) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = req->next;
	if (conn->tail == req)
		conn->tail = prev;
	conn->inflight--;
}

/* Moves the responses of finished requests at the head of the FIFO to the
 * output chain. */
static void conn_advance(struct conn *conn)
{
	while (conn->head && conn->head->done) {
		struct request *req = conn->head;
		conn->head = req->next;
		if (!conn->head)
			conn->tail = NULL;
		conn->inflight--;
		conn->queued_bytes -= req->response.len;
		if (!req->no_response) {
			if (!req->response.len) {
				/* An undecodable request was already logged; Kafka closes
				 * the connection then too. Anything else is a handler bug. */
				if (!req->undecodable)
					log_error("net", "%s: no response was encoded for api %d v%d (correlation id %d); closing",
						  conn->peer, req->api_key, req->api_version, req->correlation_id);
				request_free(req);
				conn_close(conn);
				return;
			}
			buf_chain_move(&conn->out, &req->response);
		}
		request_free(req);
	}
	if (conn->out.len)
		conn_schedule(conn);
	conn_maybe_resume(conn);
}

void request_complete(struct request *req)
{
	struct conn *conn = req->conn;
	if (reactor_current() != req->reactor) {
		log_error("net", "request_complete for api %d (correlation id %d) called off its reactor thread",
			  req->api_key, req->correlation_id);
		abort();
	}
	if (conn->in_dispatch == req) { /* completed before its handler returned */
		req->done = true;
		return;
	}
	if (conn->closed) {
		conn_unlink_request(conn, req);
		request_free(req);
		if (!conn->head)
			conn_schedule(conn); /* frees the conn */
		return;
	}
	request_finish(req);
	conn_advance(conn);
}

/* Classic string client id, copied with anything unprintable replaced so logs
 * stay one line per event. */
static const char *client_id_copy(struct arena *arena, struct kstr cid)
{
	if (cid.len <= 0)
		return "";
	char *s = arena_strndup(arena, cid.ptr, (size_t)cid.len);
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* Request header: api key, api version, correlation id, then for header v1+
 * the client id (a classic nullable string even in flexible v2), then for v2
 * tagged fields. The header version comes from the schema; a version outside
 * the schema's range is read with the header of the nearest known version, as
 * Kafka does, so an ApiVersions from a newer client still parses. */
static int request_parse_header(struct request *req)
{
	struct preader r;
	preader_init(&r, req->frame, req->frame_len);
	req->api_key = pr_int16(&r);
	req->api_version = pr_int16(&r);
	req->correlation_id = pr_int32(&r);
	if (r.err)
		return -1;
	int16_t header_version = 1; /* unknown api: enough to name the client in the log */
	const struct proto_api *api = proto_api_lookup(req->api_key);
	if (api) {
		int16_t v = req->api_version;
		if (v < api->min_version)
			v = api->min_version;
		if (v > api->max_version)
			v = api->max_version;
		header_version = proto_request_header_version(req->api_key, v);
	}
	req->header_version = header_version;
	struct kstr cid = KSTR_NULL;
	if (header_version >= 1)
		pr_string(&r, false, true, &cid);
	if (header_version >= 2)
		pr_tags_skip(&r);
	if (r.err)
		return -1;
	req->client_id = client_id_copy(req->arena, cid);
	req->body = req->frame + preader_offset(&r);
	req->body_len = req->frame_len - preader_offset(&r);
	return 0;
}

/* Takes ownership of a complete frame and dispatches it. */
static void conn_handle_frame(struct conn *conn, uint8_t *frame, size_t len)
{
	struct net_worker *worker = conn->worker;
	struct request *req = xcalloc(1, sizeof(*req));
	req->conn = conn;
	req->reactor = worker->reactor;
	req->broker = worker->broker;
	req->arena = arena_new(CONN_ARENA_FIRST_CHUNK);
	req->frame = frame;
	req->frame_len = len;
	req->received_us = clock_mono_us();
	req->client_id = "";
	memcpy(req->peer, conn->peer, sizeof(req->peer));
	buf_chain_init(&req->response);
	if (request_parse_header(req) < 0) {
		log_warn("net", "%s: unparseable request header in a %zu-byte frame; closing", conn->peer, len);
		request_free(req);
		conn_close(conn);
		return;
	}
	if (conn->tail)
		conn->tail->next = req;
	else
		conn->head = req;
	conn->tail = req;
	conn->inflight++;
	conn->queued_bytes += len;

	conn->in_dispatch = req;
	enum dispatch_result res = kafka_dispatch(req);
	conn->in_dispatch = NULL;
	if (res == DISPATCH_CLOSE) {
		req->done = true; /* never parked: freed with the connection */
		conn_close(conn);
		return;
	}
	if (res == DISPATCH_DONE || req->done)
		request_finish(req);
	conn_advance(conn);
}

/* ---- input ---------------------------------------------------------------- */

/* Turns buffered bytes into frames and dispatches complete ones, until the
 * buffer runs dry, a frame needs more bytes than are buffered, or a limit is
 * hit. */
static void conn_parse(struct conn *conn)
{
	while (!conn->closed && !conn->read_paused && !conn->frame) {
		size_t avail = conn->rlen - conn->rpos;
		if (avail < 4)
			return;
		if (conn_over_limits(conn)) {
			conn_pause(conn);
			return;
		}
		int32_t size = (int32_t)be32(conn->rbuf + conn->rpos);
		if (size < 0 || size > conn->worker->limits->max_request_bytes) {
			log_warn("net", "%s: request size %d is %s (socket.request.max.bytes=%lld); closing", conn->peer,
				 size, size < 0 ? "negative" : "too large",
				 (long long)conn->worker->limits->max_request_bytes);
			conn_close(conn);
			return;
		}
		conn->rpos += 4;
		avail -= 4;
		size_t len = (size_t)size;
		uint8_t *frame = xmalloc(len ? len : 1);
		size_t take = avail < len ? avail : len;
		memcpy(frame, conn->rbuf + conn->rpos, take);
		conn->rpos += take;
		if (take == len) {
			conn_handle_frame(conn, frame, len);
		} else {
			conn->frame = frame;
			conn->frame_len = len;
			conn->frame_have = take;
		}
	}
}

static void conn_read(struct conn *conn)
{
	for (int i = 0; i < CONN_READS_PER_EVENT && !conn->closed && !conn->read_paused; i++) {
		ssize_t n;
		size_t want;
		if (conn->frame) {
			want = conn->frame_len - conn->frame_have;
			n = read(conn->fd, conn->frame + conn->frame_have, want);
		} else {
			if (!conn->rbuf)
				conn->rbuf = xmalloc(CONN_RBUF_SIZE);
			if (conn->rpos) {
				memmove(conn->rbuf, conn->rbuf + conn->rpos, conn->rlen - conn->rpos);
				conn->rlen -= conn->rpos;
				conn->rpos = 0;
			}
			want = CONN_RBUF_SIZE - conn->rlen;
			n = read(conn->fd, conn->rbuf + conn->rlen, want);
		}
		if (n == 0) {
			log_debug("net", "%s: connection closed by peer", conn->peer);
			conn_close(conn);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("net", "%s: read: %s", conn->peer, strerror(errno));
			conn_close(conn);
			return;
		}
		conn->last_active_ms = clock_mono_ms();
		if (conn->frame) {
			conn->frame_have += (size_t)n;
			if (conn->frame_have == conn->frame_len) {
				uint8_t *frame = conn->frame;
				conn->frame = NULL;
				conn_handle_frame(conn, frame, conn->frame_len);
			}
		} else {
			conn->rlen += (size_t)n;
		}
		conn_parse(conn);
		/* A short read with no frame half-received: the client has sent
		 * everything it had, so asking again would only return EAGAIN
		 * (epoll is level-triggered: bytes arriving meanwhile wake us
		 * again). Saves a syscall per small request. In the middle of a
		 * large frame the rest is usually arriving as we read, so keep
		 * reading then. */
		if ((size_t)n < want && !conn->frame)
			break;
	}
	if (!conn->closed && conn->rbuf && conn->rpos == conn->rlen) {
		/* idle connections hold no read buffer */
		free(conn->rbuf);
		conn->rbuf = NULL;
		conn->rpos = conn->rlen = 0;
	}
}

/* ---- output --------------------------------------------------------------- */

static void conn_write(struct conn *conn)
{
	if (conn->closed)
		return;
	if (conn->out.len) {
		ssize_t n = buf_chain_write_fd(&conn->out, conn->fd);
		if (n < 0 && n != -EAGAIN) {
			log_debug("net", "%s: write: %s", conn->peer, strerror((int)-n));
			conn_close(conn);
			return;
		}
		if (n > 0)
			conn->last_active_ms = clock_mono_ms();
	}
	bool blocked = conn->out.len > 0;
	if (blocked != conn->write_blocked) {
		conn->write_blocked = blocked;
		conn_update_events(conn);
	}
	conn_maybe_resume(conn);
}

static void conn_free(struct conn *conn)
{
	atomic_fetch_sub(conn->worker->live_conns, 1);
	free(conn);
}

static void conn_before_sleep(void *arg)
{
	struct conn *conn = arg;
	conn->bs_pending = false;
	if (conn->closed) {
		if (!conn->head)
			conn_free(conn);
		return;
	}
	if (conn->resume_pending) {
		conn->resume_pending = false;
		conn_update_events(conn);
		conn_parse(conn);
		if (conn->closed)
			return; /* conn_close scheduled us again */
	}
	conn_write(conn);
}

/* ---- events, idle timer, open/close --------------------------------------- */

static void conn_on_io(void *arg, uint32_t events)
{
	struct conn *conn = arg;
	if (events & EPOLLERR) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		log_debug("net", "%s: socket error: %s", conn->peer, strerror(err));
		conn_close(conn);
		return;
	}
	if (events & EPOLLOUT)
		conn_write(conn);
	if (conn->closed)
		return;
	if (events & EPOLLIN) {
		conn_read(conn);
	} else if (events & EPOLLHUP) {
		log_debug("net", "%s: connection hung up", conn->peer);
		conn_close(conn);
	}
}

static void conn_idle_check(void *arg)
{
	struct conn *conn = arg;
	conn->idle_timer = NULL;
	int64_t idle_ms = conn->worker->limits->idle_ms;
	int64_t now = clock_mono_ms();
	/* Idle means no bytes moved either way for idle_ms (a client that stops
	 * reading its responses counts too), unless a request is parked. */
	if (!conn->head && now - conn->last_active_ms >= idle_ms) {
		log_debug("net", "%s: closing connection idle for %lld ms (connections.max.idle.ms)", conn->peer,
			  (long long)(now - conn->last_active_ms));
		conn_close(conn);
		return;
	}
	int64_t delay = conn->head ? idle_ms : conn->last_active_ms + idle_ms - now;
	conn->idle_timer = reactor_timer_add(conn->worker->reactor, delay > 0 ? delay : 1, conn_idle_check, conn);
}

void conn_open(struct net_worker *worker, int fd, const char *peer)
{
	int live = atomic_fetch_add(worker->live_conns, 1);
	if (live >= worker->limits->max_connections) {
		atomic_fetch_sub(worker->live_conns, 1);
		log_warn("net", "%s: refusing connection: max.connections=%lld reached", peer,
			 (long long)worker->limits->max_connections);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn *conn = xcalloc(1, sizeof(*conn));
	conn->worker = worker;
	conn->fd = fd;
	snprintf(conn->peer, sizeof(conn->peer), "%s", peer);
	buf_chain_init(&conn->out);
	conn->events = EPOLLIN;
	conn->last_active_ms = clock_mono_ms();
	int rc = reactor_add_fd(worker->reactor, fd, EPOLLIN, conn_on_io, conn);
	if (rc < 0) {
		log_warn("net", "%s: epoll_ctl: %s; closing", peer, strerror(-rc));
		close(fd);
		conn_free(conn);
		return;
	}
	conn->next = worker->conns;
	if (worker->conns)
		worker->conns->prev = conn;
	worker->conns = conn;
	worker->conn_count++;
	if (worker->limits->idle_ms > 0)
		conn->idle_timer = reactor_timer_add(worker->reactor, worker->limits->idle_ms, conn_idle_check, conn);
	log_debug("net", "%s: connection accepted on reactor %d", conn->peer, reactor_index(worker->reactor));
}

static void conn_close(struct conn *conn)
{
	if (conn->closed)
		return;
	struct net_worker *worker = conn->worker;
	conn->closed = true;
	reactor_del_fd(worker->reactor, conn->fd);
	close(conn->fd);
	conn->fd = -1;
	if (conn->idle_timer) {
		reactor_timer_cancel(worker->reactor, conn->idle_timer);
		conn->idle_timer = NULL;
	}
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		worker->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	conn->prev = conn->next = NULL;
	worker->conn_count--;

	free(conn->rbuf);
	conn->rbuf = NULL;
	free(conn->frame);
	conn->frame = NULL;
	buf_chain_fini(&conn->out);

	/* Finished requests go now; parked ones stay until request_complete(). */
	struct request **pp = &conn->head;
	conn->tail = NULL;
	while (*pp) {
		struct request *req = *pp;
		if (req->done) {
			*pp = req->next;
			conn->inflight--;
			request_free(req);
		} else {
			conn->tail = req;
			pp = &req->next;
		}
	}
	if (conn->head)
		log_debug("net", "%s: closed with %d parked request(s) still running", conn->peer, conn->inflight);
	conn_schedule(conn); /* frees the conn once no request refers to it */
}

void conn_close_all(struct net_worker *worker)
{
	while (worker->conns)
		conn_close(worker->conns);
}
