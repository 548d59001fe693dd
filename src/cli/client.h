/* A minimal blocking Kafka client for the samsa command line: one connection,
 * one request at a time, versions negotiated with ApiVersions. It shares the
 * generated codecs with the broker and nothing else, so `samsa topic` works
 * against any Kafka broker too. */
#ifndef SAMSA_CLI_CLIENT_H
#define SAMSA_CLI_CLIENT_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

struct kclient;

/* Connects to host:port (default port 9092) and fetches the broker's API
 * versions. Returns NULL with errmsg on failure. */
struct kclient *kclient_connect(const char *bootstrap, int timeout_ms, char errmsg[ERRMSG_SIZE]);
void kclient_close(struct kclient *client);

/* The highest version of api_key both sides speak, or -1. */
int16_t kclient_version(const struct kclient *client, int16_t api_key);

/* Sends req (the generated request struct for api_key) at the negotiated
 * version and decodes the response into *resp, allocated from arena.
 * *version_out gets the version used. Returns 0 or -errno with errmsg. */
int kclient_call(struct kclient *client, int16_t api_key, const void *req, struct arena *arena, void **resp,
		 int16_t *version_out, char errmsg[ERRMSG_SIZE]);

#endif
