/* The one place internal errors (0 / -errno / -SAMSA_E*) become Kafka wire
 * error codes, so every handler answers the same failure the same way. */
#ifndef SAMSA_KAFKA_ERRORS_H
#define SAMSA_KAFKA_ERRORS_H

#include <stdint.h>

/* Maps an internal error from storage or metadata to a wire error code:
 * -SAMSA_ECORRUPT -> CORRUPT_MESSAGE, -SAMSA_ETOOLARGE -> MESSAGE_TOO_LARGE,
 * -SAMSA_ENOTFOUND -> UNKNOWN_TOPIC_OR_PARTITION, -SAMSA_ERANGE ->
 * OFFSET_OUT_OF_RANGE, -SAMSA_EEXIST -> TOPIC_ALREADY_EXISTS,
 * -SAMSA_EINVAL_CONFIG -> INVALID_CONFIG, -ENOTSUP -> UNSUPPORTED_COMPRESSION_TYPE,
 * disk errors (-EIO, -ENOSPC, -EROFS,
 * -EDQUOT) -> KAFKA_STORAGE_ERROR, anything else -> UNKNOWN_SERVER_ERROR. */
int16_t kafka_error_from_err(int err);

/* For AlterConfigs / IncrementalAlterConfigs (meta_config_alter()): a missing
 * resource is UNKNOWN_TOPIC_OR_PARTITION, -EINVAL INVALID_REQUEST, the rest as
 * kafka_error_from_err(). */
int16_t kafka_config_error_from_err(int err);

#endif
