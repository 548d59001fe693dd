/* The network front end of a broker: N reactor threads, each with its own
 * listening socket on the same address (SO_REUSEPORT, so the kernel spreads
 * new connections over the threads), its connections, their framing and
 * their in-order response queues (net/conn.c).
 *
 * Life cycle, all from one control thread (cli/serve.c):
 *   net_server_new()       creates the reactors and binds the sockets, so a
 *                          port in use is reported before anything starts;
 *   net_server_start()     starts the reactor threads, which accept;
 *   net_server_shutdown()  stops accepting, closes every connection and waits
 *                          (bounded) until parked requests have completed;
 *   net_server_free()      stops the reactors, joins the threads, frees. */
#ifndef SAMSA_NET_SERVER_H
#define SAMSA_NET_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct broker;
struct config;
struct net_server;
struct reactor;

/* One entry of `listeners` / `advertised.listeners`: NAME://host:port. */
struct net_endpoint {
	char name[64];  /* listener name, e.g. PLAINTEXT */
	char host[256]; /* "" = every interface (bind) */
	int port;       /* 0 = an ephemeral port (bind) / the bound port (advertised) */
};

/* Parses "NAME://host:port" (host may be empty, a name, an IPv4 address or a
 * bracketed IPv6 address). Returns 0 or -EINVAL with errmsg. */
int net_endpoint_parse(const char *text, size_t len, struct net_endpoint *out, char errmsg[ERRMSG_SIZE]);

/* Picks the listener to serve from `listeners`: the first whose security
 * protocol (listener.security.protocol.map) is PLAINTEXT and which is not a
 * controller listener; others are logged and ignored. The advertised endpoint
 * is the `advertised.listeners` entry of the same name, else the bind
 * endpoint with a wildcard host ("", 0.0.0.0, ::) replaced by "localhost" so
 * that a dev broker works with `-b localhost:9092` out of the box. Port 0 in
 * the advertised endpoint means "the port actually bound". */
int net_listeners_resolve(const struct config *cfg, struct net_endpoint *bind, struct net_endpoint *advertised,
			  char errmsg[ERRMSG_SIZE]);

/* Creates `threads` reactors (0: one per online CPU) and binds a listening
 * socket for each to bind. broker is stored (not a reference) and handed to
 * every request; its reactors field may be filled from net_server_reactors()
 * before net_server_start(). NULL with errmsg on failure (port in use,
 * unresolvable host). */
struct net_server *net_server_new(struct broker *broker, const struct config *cfg, const struct net_endpoint *bind,
				  int threads, char errmsg[ERRMSG_SIZE]);

int net_server_port(const struct net_server *srv);            /* the port bound */
int net_server_reactor_count(const struct net_server *srv);
struct reactor **net_server_reactors(struct net_server *srv); /* owned by srv */

/* Starts the reactor threads. The calling thread's signal mask is inherited:
 * block SIGTERM/SIGINT first. Returns 0 or -errno. */
int net_server_start(struct net_server *srv, char errmsg[ERRMSG_SIZE]);

/* Stops accepting, closes every connection (requests already parked run to
 * completion; kafka_reactor_shutdown() is called on each reactor to answer
 * long-polls now) and waits up to timeout_ms for them. The reactors keep
 * running, so flusher callbacks still land. Returns the number of
 * connections still waiting on requests when the time ran out. */
int net_server_shutdown(struct net_server *srv, int64_t timeout_ms);

/* Stops and joins the reactor threads and frees everything. */
void net_server_free(struct net_server *srv);

#endif
