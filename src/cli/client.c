/* Blocking request/response over one TCP connection. */
#include "cli/client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "proto/gen/api_table.h"
#include "proto/gen/api_versions_request.h"
#include "proto/gen/api_versions_response.h"
#include "proto/gen/errors.h"
#include "proto/reader.h"
#include "proto/writer.h"

#define KCLIENT_MAX_API 128
#define KCLIENT_MAX_RESPONSE (64 << 20)

struct kclient {
	int fd;
	int timeout_ms;
	int32_t correlation_id;
	int16_t max_version[KCLIENT_MAX_API]; /* negotiated; -1 = not available */
};

static int io_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int read_full(struct kclient *client, uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		int rc = io_wait(client->fd, POLLIN, client->timeout_ms);
		if (rc < 0)
			return rc;
		ssize_t n = read(client->fd, buf + done, len - done);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static int write_chain(struct kclient *client, struct buf_chain *chain)
{
	while (chain->len) {
		ssize_t n = buf_chain_write_fd(chain, client->fd);
		if (n == -EAGAIN || n == -EINTR) {
			int rc = io_wait(client->fd, POLLOUT, client->timeout_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
	}
	return 0;
}

/* Sends one request at version and decodes its response. */
static int kclient_roundtrip(struct kclient *client, int16_t api_key, int16_t version, const void *req,
			     struct arena *arena, void **resp, char errmsg[ERRMSG_SIZE])
{
	struct buf_chain chain;
	struct pwriter w;
	buf_chain_init(&chain);
	pwriter_init(&w, &chain);
	uint8_t *size = buf_chain_reserve(&chain, 4);
	int32_t corr = ++client->correlation_id;
	pw_int16(&w, api_key);
	pw_int16(&w, version);
	pw_int32(&w, corr);
	pw_string(&w, false, true, kstr_from_cstr("samsa-cli"));
	if (proto_request_header_version(api_key, version) >= 2)
		pw_uvarint(&w, 0); /* no tagged fields */
	proto_request_encode(api_key, version, &w, req);
	uint32_t len = (uint32_t)(chain.len - 4);
	size[0] = (uint8_t)(len >> 24), size[1] = (uint8_t)(len >> 16), size[2] = (uint8_t)(len >> 8),
	size[3] = (uint8_t)len;
	int rc = write_chain(client, &chain);
	buf_chain_fini(&chain);
	if (rc < 0) {
		err_printf(errmsg, "cannot send request: %s", strerror(-rc));
		return rc;
	}

	uint8_t hdr[4];
	rc = read_full(client, hdr, 4);
	if (rc < 0) {
		err_printf(errmsg, "no response from the broker: %s", strerror(-rc));
		return rc;
	}
	int32_t rlen = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3]);
	if (rlen < 4 || rlen > KCLIENT_MAX_RESPONSE) {
		err_printf(errmsg, "invalid response size %d", rlen);
		return -EPROTO;
	}
	uint8_t *body = arena_alloc(arena, (size_t)rlen);
	rc = read_full(client, body, (size_t)rlen);
	if (rc < 0) {
		err_printf(errmsg, "truncated response: %s", strerror(-rc));
		return rc;
	}
	struct preader r;
	preader_init(&r, body, (size_t)rlen);
	if (pr_int32(&r) != corr) {
		err_printf(errmsg, "response correlation id does not match the request");
		return -EPROTO;
	}
	if (proto_response_header_version(api_key, version) >= 1)
		pr_tags_skip(&r);
	if (r.err || proto_response_decode(api_key, version, &r, arena, resp) != 0) {
		err_printf(errmsg, "cannot parse the %s v%d response", proto_api_lookup(api_key)->name, version);
		return -EPROTO;
	}
	return 0;
}

static int kclient_negotiate(struct kclient *client, char errmsg[ERRMSG_SIZE])
{
	struct arena *arena = arena_new(4096);
	struct api_versions_request req;
	api_versions_request_init(&req);
	struct api_versions_response *resp;
	int rc = kclient_roundtrip(client, 18, 0, &req, arena, (void **)&resp, errmsg);
	if (rc == 0 && resp->error_code != KERR_NONE) {
		err_printf(errmsg, "ApiVersions failed: %s", kerr_name(resp->error_code));
		rc = -EPROTO;
	}
	for (int i = 0; i < KCLIENT_MAX_API; i++)
		client->max_version[i] = -1;
	for (int32_t i = 0; rc == 0 && i < resp->api_keys_count; i++) {
		const struct api_versions_response_api_version *v = &resp->api_keys[i];
		const struct proto_api *ours = proto_api_lookup(v->api_key);
		if (!ours || v->api_key < 0 || v->api_key >= KCLIENT_MAX_API)
			continue;
		int16_t max = v->max_version < ours->max_version ? v->max_version : ours->max_version;
		if (max >= v->min_version && max >= ours->min_version)
			client->max_version[v->api_key] = max;
	}
	arena_free(arena);
	return rc;
}

struct kclient *kclient_connect(const char *bootstrap, int timeout_ms, char errmsg[ERRMSG_SIZE])
{
	char host[256];
	const char *port = "9092";
	snprintf(host, sizeof(host), "%s", bootstrap);
	char *colon = strrchr(host, ':');
	if (colon) {
		*colon = '\0';
		port = bootstrap + (colon - host) + 1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int gai = getaddrinfo(host[0] ? host : "localhost", port, &hints, &res);
	if (gai) {
		err_printf(errmsg, "cannot resolve %s: %s", bootstrap, gai_strerror(gai));
		return NULL;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		err_printf(errmsg, "cannot connect to %s: %s", bootstrap, strerror(err));
		return NULL;
	}
	struct kclient *client = xcalloc(1, sizeof(*client));
	client->fd = fd;
	client->timeout_ms = timeout_ms;
	if (kclient_negotiate(client, errmsg) < 0) {
		kclient_close(client);
		return NULL;
	}
	return client;
}

void kclient_close(struct kclient *client)
{
	if (!client)
		return;
	close(client->fd);
	free(client);
}

int16_t kclient_version(const struct kclient *client, int16_t api_key)
{
	return api_key >= 0 && api_key < KCLIENT_MAX_API ? client->max_version[api_key] : -1;
}

int kclient_call(struct kclient *client, int16_t api_key, const void *req, struct arena *arena, void **resp,
		 int16_t *version_out, char errmsg[ERRMSG_SIZE])
{
	int16_t version = kclient_version(client, api_key);
	if (version < 0) {
		const struct proto_api *api = proto_api_lookup(api_key);
		err_printf(errmsg, "the broker does not support %s", api ? api->name : "this API");
		return -EOPNOTSUPP;
	}
	if (version_out)
		*version_out = version;
	return kclient_roundtrip(client, api_key, version, req, arena, resp, errmsg);
}
