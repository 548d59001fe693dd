/* Logging to stderr: one line per event, "<UTC time> <LEVEL> [<module>] message".
 * Thread-safe (each line is one write). The level is set once at start-up. */
#ifndef SAMSA_BASE_LOG_H
#define SAMSA_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *name);

void log_write(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(module, ...) do { if (log_get_level() <= LOG_DEBUG) log_write(LOG_DEBUG, module, __VA_ARGS__); } while (0)
#define log_info(module, ...) log_write(LOG_INFO, module, __VA_ARGS__)
#define log_warn(module, ...) log_write(LOG_WARN, module, __VA_ARGS__)
#define log_error(module, ...) log_write(LOG_ERROR, module, __VA_ARGS__)

#endif
