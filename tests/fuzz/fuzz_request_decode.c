/* libFuzzer target: request decoding, as the broker does it.
 *
 * Input: one request frame as on the wire, including the 4-byte size prefix
 * (the prefix itself is ignored, so the capture vectors are valid seeds). The
 * request header is parsed with the header version its api key and version
 * call for, then the body with proto_request_decode(). When the body decodes,
 * it is re-encoded and the result must agree with proto_request_size(),
 * decode again cleanly, and re-encode to the same bytes. The same body is also
 * run through the response decoder of that api, which clients (the CLI) use.
 *
 * Findings: sanitizer reports, abort() on a broken invariant, and (with
 * -malloc_limit_mb) any allocation sized by the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/gen/api_table.h"
#include "proto/gen/request_header.h"
#include "proto/reader.h"
#include "proto/writer.h"

typedef int (*decode_fn)(int16_t key, int16_t version, struct preader *r, struct arena *arena, void **out);
typedef void (*encode_fn)(int16_t key, int16_t version, struct pwriter *w, const void *msg);
typedef size_t (*size_fn)(int16_t key, int16_t version, const void *msg);

static void die(const char *what, int16_t key, int16_t version)
{
	fprintf(stderr, "fuzz_request_decode: %s (api %d v%d)\n", what, key, version);
	abort();
}

/* Encodes msg into a malloc'd flat buffer; checks size() on the way. */
static uint8_t *encode_flat(encode_fn enc, size_fn sz, int16_t key, int16_t version, const void *msg, size_t *len)
{
	struct buf_chain out;
	struct pwriter w;
	buf_chain_init(&out);
	pwriter_init(&w, &out);
	enc(key, version, &w, msg);
	if (out.len != sz(key, version, msg))
		die("size() differs from the encoded length", key, version);
	uint8_t *flat = malloc(out.len + 1);
	if (buf_chain_flatten(&out, flat) != 0)
		die("flatten failed", key, version);
	*len = out.len;
	buf_chain_fini(&out);
	return flat;
}

static void check_body(decode_fn dec, encode_fn enc, size_fn sz, int16_t key, int16_t version,
		       const uint8_t *body, size_t body_len)
{
	struct arena *arena = arena_new(4096);
	struct preader r;
	void *msg;
	preader_init(&r, body, body_len);
	int rc = dec(key, version, &r, arena, &msg);
	if (rc < 0) {
		if (rc != PROTO_ERR_UNSUPPORTED && (rc != r.err || r.err_off > body_len))
			die("error without a recorded offset", key, version);
		arena_free(arena);
		return;
	}
	size_t len1, len2;
	uint8_t *b1 = encode_flat(enc, sz, key, version, msg, &len1);
	struct preader r2;
	void *msg2;
	preader_init(&r2, b1, len1);
	if (dec(key, version, &r2, arena, &msg2) != 0 || preader_remaining(&r2) != 0)
		die("re-encoded message does not decode", key, version);
	uint8_t *b2 = encode_flat(enc, sz, key, version, msg2, &len2);
	if (len1 != len2 || memcmp(b1, b2, len1) != 0)
		die("re-encoding is not stable", key, version);
	free(b1);
	free(b2);
	arena_free(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4 + 8)
		return 0;
	/* An exactly sized copy: reads past the frame are caught by ASan. */
	size_t len = size - 4;
	uint8_t *frame = malloc(len);
	memcpy(frame, data + 4, len);

	struct preader r;
	preader_init(&r, frame, len);
	int16_t key = pr_int16(&r);
	int16_t version = pr_int16(&r);
	int16_t hv = proto_request_header_version(key, version);
	if (hv >= 0) {
		struct arena *arena = arena_new(256);
		struct request_header hdr;
		preader_init(&r, frame, len);
		if (request_header_decode(&r, arena, hv, &hdr) == 0) {
			const uint8_t *body = r.p;
			size_t body_len = preader_remaining(&r);
			check_body(proto_request_decode, proto_request_encode, proto_request_size, key, version, body,
				   body_len);
			check_body(proto_response_decode, proto_response_encode, proto_response_size, key, version,
				   body, body_len);
		}
		arena_free(arena);
	}
	free(frame);
	return 0;
}
