/* Broker configuration with Kafka's key names and defaults.
 *
 * Sources, later ones winning: built-in defaults, a properties file
 * (`samsa serve path/to/server.properties`), KAFKA_* environment variables
 * mapped as Kafka's container images map them (KAFKA_ADVERTISED_LISTENERS ->
 * advertised.listeners: strip KAFKA_, lower-case, '_' -> '.', '__' -> '_',
 * '___' -> '-'), then `--set key=value`. Known keys are type-checked; unknown
 * keys are kept (and logged once) so Kafka property files load unchanged. */
#ifndef SAMSA_BASE_CONFIG_H
#define SAMSA_BASE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct config;

struct config *config_new(void); /* every known key at its default */
void config_free(struct config *cfg);

/* Returns 0, or -SAMSA_EINVAL_CONFIG with errmsg naming the key and why. */
int config_set(struct config *cfg, const char *key, const char *value, char errmsg[ERRMSG_SIZE]);
int config_load_file(struct config *cfg, const char *path, char errmsg[ERRMSG_SIZE]);
int config_load_env(struct config *cfg, char **envp, char errmsg[ERRMSG_SIZE]);

/* Value of key, or NULL if neither set nor known. */
const char *config_get(const struct config *cfg, const char *key);
/* For known keys of that type (aborts on a programming error: wrong type). */
int64_t config_get_int(const struct config *cfg, const char *key);
bool config_get_bool(const struct config *cfg, const char *key);

/* Iterates over every key with a value, in sorted order (for the start-up log
 * and DescribeConfigs). Returns the number of keys; fills keys/values up to max. */
int config_list(const struct config *cfg, const char **keys, const char **values, int max);

/* Env var name -> config key (without the value), e.g. for tests. Writes into
 * out (size out_size); returns false if name is not a KAFKA_ variable. */
bool config_env_to_key(const char *name, char *out, size_t out_size);

/* True if key was given explicitly (file, environment or --set) rather than
 * being a default or derived from another key: the start-up log lists these. */
bool config_is_set(const struct config *cfg, const char *key);
/* True if Samsa knows key (type-checked, has a default); unknown keys are
 * kept as given, and the caller logs them once. */
bool config_is_known(const char *key);
/* True for keys whose values must not be logged (passwords, secrets, keys). */
bool config_is_sensitive(const char *key);

#endif
