/* Internal error convention: functions return 0 or a negative errno-style code;
 * never a Kafka wire code (those live in proto/gen/errors.h and are only
 * written into responses). Long-lived operations (config load, segment open,
 * recovery) also fill a caller's char errmsg[ERRMSG_SIZE] saying why. */
#ifndef SAMSA_BASE_ERR_H
#define SAMSA_BASE_ERR_H

#include <errno.h>
#include <stdio.h>

#define ERRMSG_SIZE 256

/* Samsa-specific codes, beyond errno's range. */
enum samsa_err {
	SAMSA_ECORRUPT = 1000, /* bytes failed validation (CRC, sizes, magic) */
	SAMSA_ETOOLARGE,       /* over a configured size limit */
	SAMSA_EPROTO,          /* request did not parse */
	SAMSA_ENOTFOUND,       /* topic or partition does not exist */
	SAMSA_EEXIST,          /* topic already exists */
	SAMSA_EINVAL_CONFIG,   /* configuration value invalid */
	SAMSA_ERANGE,          /* offset out of range */
};

#define err_printf(errmsg, ...) snprintf((errmsg), ERRMSG_SIZE, __VA_ARGS__)

#endif
