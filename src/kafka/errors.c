#include "kafka/errors.h"

#include <errno.h>

#include "base/err.h"
#include "proto/gen/errors.h"

int16_t kafka_error_from_err(int err)
{
	switch (err) {
	case 0:
		return KERR_NONE;
	case -SAMSA_ECORRUPT:
		return KERR_CORRUPT_MESSAGE;
	case -SAMSA_ETOOLARGE:
		return KERR_MESSAGE_TOO_LARGE;
	case -SAMSA_ENOTFOUND:
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	case -SAMSA_ERANGE:
		return KERR_OFFSET_OUT_OF_RANGE;
	case -SAMSA_EEXIST:
		return KERR_TOPIC_ALREADY_EXISTS;
	case -SAMSA_EINVAL_CONFIG:
		return KERR_INVALID_CONFIG;
	case -ENOTSUP:
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	case -EIO:
	case -ENOSPC:
	case -EROFS:
	case -EDQUOT:
	case -ENOENT:
		return KERR_KAFKA_STORAGE_ERROR;
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
}

int16_t kafka_config_error_from_err(int err)
{
	switch (err) {
	case -SAMSA_ENOTFOUND:
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	case -EINVAL:
		return KERR_INVALID_REQUEST;
	default:
		return kafka_error_from_err(err);
	}
}
