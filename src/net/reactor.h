/* One event loop per thread: an epoll set, its connections, its timers, and a
 * queue other threads post work into (woken through an eventfd). Everything
 * registered on a reactor is only touched by that reactor's thread. */
#ifndef SAMSA_NET_REACTOR_H
#define SAMSA_NET_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

struct reactor;
struct reactor_timer;

typedef void (*reactor_fn)(void *arg);
/* Called for fd readiness; events is the epoll event mask. */
typedef void (*reactor_io_fn)(void *arg, uint32_t events);

struct reactor *reactor_new(int index);
void reactor_free(struct reactor *reactor);
int reactor_index(const struct reactor *reactor);

/* Runs the loop on the calling thread until reactor_stop(). */
void reactor_run(struct reactor *reactor);
/* Thread-safe: asks the loop to return. */
void reactor_stop(struct reactor *reactor);

/* Thread-safe: runs fn(arg) on the reactor's thread soon. */
void reactor_post(struct reactor *reactor, reactor_fn fn, void *arg);

/* Reactor thread only. fd readiness; events are EPOLLIN/EPOLLOUT/... */
int reactor_add_fd(struct reactor *reactor, int fd, uint32_t events, reactor_io_fn fn, void *arg);
int reactor_mod_fd(struct reactor *reactor, int fd, uint32_t events, reactor_io_fn fn, void *arg);
void reactor_del_fd(struct reactor *reactor, int fd);

/* Reactor thread only. One-shot timer after delay_ms; the handle is valid until
 * it fires or is cancelled. */
struct reactor_timer *reactor_timer_add(struct reactor *reactor, int64_t delay_ms, reactor_fn fn, void *arg);
void reactor_timer_cancel(struct reactor *reactor, struct reactor_timer *timer);

/* Reactor thread only. fn(arg) runs before the loop next sleeps (after all
 * ready events of this iteration), once per registration: used to flush
 * output buffers in one write per iteration. */
void reactor_before_sleep(struct reactor *reactor, reactor_fn fn, void *arg);

/* The reactor whose thread is calling, or NULL on other threads. */
struct reactor *reactor_current(void);

#endif
