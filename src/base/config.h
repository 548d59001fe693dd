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

/* ---- Dynamic configuration --------------------------------------------------
 * AlterConfigs / IncrementalAlterConfigs on the broker resource change two
 * layers above the static configuration: the cluster-wide default (resource
 * name "") and this broker's own (resource name = node.id). config_get() and
 * config_get_int/bool() see this broker's layer first, then the default layer,
 * then the static value. Only config_is_dynamic() keys go there. The layers are
 * internally locked and may change while other threads read: every string
 * config_get() returns stays valid until config_free(). Persisting them is the
 * caller's job (meta/broker_config.c). */
enum config_layer { CONFIG_LAYER_DEFAULT, CONFIG_LAYER_BROKER };

/* The type of a known key, for DescribeConfigs. */
enum config_value_type {
	CONFIG_VALUE_STRING,
	CONFIG_VALUE_LIST,
	CONFIG_VALUE_BOOL,
	CONFIG_VALUE_SHORT,
	CONFIG_VALUE_INT,
	CONFIG_VALUE_LONG,
};

/* True if key may be changed at runtime (a dynamic broker config). */
bool config_is_dynamic(const char *key);
/* Type and range check of a known key's value, storing nothing. Returns 0, or
 * -SAMSA_EINVAL_CONFIG with errmsg (also for an unknown key). */
int config_validate(const char *key, const char *value, char errmsg[ERRMSG_SIZE]);
/* Sets (value != NULL) or removes (value == NULL) key in a dynamic layer.
 * Returns 0, or -SAMSA_EINVAL_CONFIG with errmsg when the key is not dynamic
 * or the value is invalid. */
int config_dynamic_set(struct config *cfg, enum config_layer layer, const char *key, const char *value,
		       char errmsg[ERRMSG_SIZE]);
/* key's value in that layer, or NULL. */
const char *config_dynamic_get(const struct config *cfg, enum config_layer layer, const char *key);
/* The keys and values of a layer, sorted by key: returns the count and two
 * allocated arrays (free() both; the strings stay valid until config_free()). */
int config_dynamic_list(const struct config *cfg, enum config_layer layer, const char ***keys,
			const char ***values);
/* key's static value (built-in default, file, environment, --set), ignoring
 * the dynamic layers; NULL if none. */
const char *config_static_get(const struct config *cfg, const char *key);
/* The known keys in sorted order (index < config_known_count()), their
 * built-in defaults (NULL if none) and types. */
int config_known_count(void);
const char *config_known_name(int index);
const char *config_known_default(const char *key);
enum config_value_type config_known_type(const char *key);

#endif
