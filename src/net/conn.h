/* Internal to net/: the per-reactor worker (listener.c) and connections
 * (conn.c). Everything here is only touched by the worker's reactor thread,
 * no locks, except the server-wide atomics in struct net_server. */
#ifndef SAMSA_NET_CONN_H
#define SAMSA_NET_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct broker;
struct conn;
struct net_server;
struct reactor;
struct reactor_timer;
struct request;

/* Per-connection limits (backpressure, so memory stays bounded whatever a
 * client sends): reading stops while either is exceeded. */
#define CONN_MAX_INFLIGHT 1000             /* requests read but not yet answered */
#define CONN_MAX_QUEUED_BYTES (64u << 20)  /* frames held + responses not yet written */
#define CONN_RBUF_SIZE 16384               /* read buffer for small frames */

struct net_limits {
	int64_t max_request_bytes; /* socket.request.max.bytes */
	int64_t idle_ms;           /* connections.max.idle.ms; <= 0: never */
	int64_t max_connections;   /* max.connections */
};

struct net_worker {
	struct net_server *srv;
	struct reactor *reactor;
	struct broker *broker;
	const struct net_limits *limits;
	atomic_int *live_conns;    /* server-wide: conns not yet freed */
	int listen_fd;
	struct reactor_timer *accept_timer; /* accepting paused (EMFILE) until it fires */
	struct conn *conns;        /* open connections (closed ones leave the list) */
	size_t conn_count;
	pthread_t thread;
	bool thread_started;
};

/* Takes ownership of fd (a connected, non-blocking socket) and starts
 * reading requests from it. */
void conn_open(struct net_worker *worker, int fd, const char *peer);

/* Closes every connection of the worker (shutdown). */
void conn_close_all(struct net_worker *worker);

#endif
