/* Response framing: size prefix, response header, body.
 *
 * The 4-byte size is reserved first and patched once the body is encoded, so
 * the body is written once, straight into the request's output chain (file
 * ranges of a fetch included), without computing sizes up front. The
 * response header is the correlation id, plus an empty tagged-field section
 * in header v1 (flexible versions; never for ApiVersions, whose response
 * header stays v0 so that any client can read it). */
#include <stdint.h>

#include "base/buf.h"
#include "base/log.h"
#include "kafka/dispatch.h"
#include "kafka/request.h"
#include "proto/gen/api_table.h"
#include "proto/writer.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void kafka_respond_version(struct request *req, int16_t version, const void *msg)
{
	struct buf_chain *out = &req->response;
	if (out->len) {
		log_error("kafka", "%s: a second response for correlation id %d replaces the first", req->peer,
			  req->correlation_id);
		buf_chain_fini(out);
	}
	uint8_t *size = buf_chain_reserve(out, 4);
	uint8_t header[5];
	size_t header_len = 4;
	put_be32(header, (uint32_t)req->correlation_id);
	if (proto_response_header_version(req->api_key, version) >= 1)
		header[header_len++] = 0; /* no tagged fields */
	buf_chain_append(out, header, header_len);
	struct pwriter w;
	pwriter_init(&w, out);
	proto_response_encode(req->api_key, version, &w, msg);
	if (out->len - 4 > INT32_MAX) {
		/* cannot be framed: an empty response makes net/ close the connection */
		log_error("kafka", "%s: response to correlation id %d is %zu bytes, too large to send", req->peer,
			  req->correlation_id, out->len);
		buf_chain_fini(out);
		return;
	}
	put_be32(size, (uint32_t)(out->len - 4));
}

void kafka_respond(struct request *req, const void *msg)
{
	kafka_respond_version(req, req->api_version, msg);
}

void kafka_respond_none(struct request *req)
{
	req->no_response = true;
}
