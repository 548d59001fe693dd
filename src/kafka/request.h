/* A request as handlers see it, and the contract between net/ and kafka/.
 *
 * net/ reads a frame, parses the request header and hands a struct request to
 * kafka_dispatch() (kafka/dispatch.h) on the connection's reactor thread. The
 * handler decodes the body from req->body with the generated codec, allocating
 * from req->arena, and either
 *   - encodes its response with kafka_respond() and returns HANDLER_DONE, or
 *   - returns HANDLER_PARKED and later, on the same reactor thread, calls
 *     kafka_respond() (or kafka_respond_none()) and then request_complete().
 * Responses leave the connection in request order even when a later request
 * completes first; the connection keeps processing following requests while
 * one is parked.
 *
 * A request outlives its connection if the client disconnects while it is
 * parked: the handler still completes it and net/ frees it then. */
#ifndef SAMSA_KAFKA_REQUEST_H
#define SAMSA_KAFKA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

struct conn;
struct reactor;
struct broker;

enum handler_result { HANDLER_DONE, HANDLER_PARKED };

struct request {
	struct request *next;     /* connection's in-order queue; owned by net/ */
	struct conn *conn;        /* owned by net/; handlers do not touch it */
	struct reactor *reactor;  /* the thread this request lives on */
	struct broker *broker;    /* shared broker state (kafka/broker.h) */
	struct arena *arena;      /* freed with the request */

	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	const char *client_id;    /* NUL-terminated, in arena; "" if null */
	int16_t header_version;   /* request header version, 1 or 2 (0 for controlled shutdown v0) */

	uint8_t *frame;           /* the whole request frame (without size prefix), owned */
	size_t frame_len;
	uint8_t *body;            /* request body after the header, inside frame */
	size_t body_len;

	int64_t received_us;      /* clock_mono_us() when the frame was read */
	char peer[64];            /* "ip:port" of the client, for logs */

	struct buf_chain response; /* size prefix + response header + body */
	bool no_response;          /* acks=0 produce: nothing is sent back */
	bool undecodable;          /* the body did not parse: the connection is closed */
	bool done;                 /* response complete, may be sent */
	void *handler_state;       /* for a parked handler's own use */
};

/* Encodes msg (the generated response struct for req->api_key at
 * req->api_version) with the right response header into req->response. */
void kafka_respond(struct request *req, const void *msg);

/* acks=0: marks that no response is sent for this request. */
void kafka_respond_none(struct request *req);

/* Called by a handler that returned HANDLER_PARKED, on req->reactor's thread,
 * once its response is encoded. Implemented by net/. */
void request_complete(struct request *req);

#endif
