/* The event loop: one per reactor thread (Redis's ae, reduced to what Samsa
 * needs).
 *
 * Each iteration of reactor_run():
 *   1. runs the before_sleep callbacks registered so far (connections flush
 *      their output here: one writev per connection per iteration, and
 *      EPOLLOUT is armed only when the socket would block),
 *   2. sleeps in epoll_wait until the next timer is due, or not at all when
 *      before_sleep callbacks were registered meanwhile,
 *   3. dispatches ready fds, then due timers.
 *
 * File descriptors are kept in a table indexed by fd. Each registration gets a
 * generation number that travels in the epoll event (fd in the low 32 bits,
 * generation in the high 32), so an event that was already collected for an
 * fd that a callback closed - and that accept() may have reused - in the same
 * batch is recognised as stale and dropped instead of reaching the new owner.
 *
 * Timers live in a binary min-heap ordered by (deadline, sequence), so timers
 * due at the same millisecond fire in the order they were added. Other
 * threads reach the loop only through reactor_post() (a mutex-protected list
 * plus an eventfd) and reactor_stop() (an atomic flag plus the same eventfd). */
#include "net/reactor.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

#define REACTOR_MAX_EVENTS 256

struct reactor_timer {
	int64_t when_ms;
	uint64_t seq;
	size_t heap_index;
	reactor_fn fn;
	void *arg;
};

struct reactor_fd {
	reactor_io_fn fn; /* NULL: slot unused */
	void *arg;
	uint32_t gen;
};

struct reactor_post {
	struct reactor_post *next;
	reactor_fn fn;
	void *arg;
};

struct reactor_cb {
	reactor_fn fn;
	void *arg;
};

struct reactor {
	int index;
	int epfd;
	int evfd;
	atomic_bool stopping;

	/* Only touched by the reactor's thread, no locks. */
	struct reactor_fd *fds;
	size_t fds_cap;
	uint32_t next_gen;

	struct reactor_timer **heap;
	size_t heap_len, heap_cap;
	uint64_t timer_seq;

	struct reactor_cb *before_sleep;
	size_t bs_len, bs_cap;

	/* Shared with posting threads, under post_lock. */
	pthread_mutex_t post_lock;
	struct reactor_post *post_head, *post_tail;
};

static _Thread_local struct reactor *current_reactor;

static void reactor_drain_posts(struct reactor *reactor);
static void reactor_run_before_sleep(struct reactor *reactor);

struct reactor *reactor_new(int index)
{
	struct reactor *reactor = xcalloc(1, sizeof(*reactor));
	reactor->index = index;
	atomic_init(&reactor->stopping, false);
	pthread_mutex_init(&reactor->post_lock, NULL);
	reactor->epfd = epoll_create1(EPOLL_CLOEXEC);
	reactor->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (reactor->epfd < 0 || reactor->evfd < 0) {
		log_error("net", "reactor %d: epoll/eventfd: %s", index, strerror(errno));
		abort();
	}
	/* The eventfd is not in the fd table: its events carry a reserved tag. */
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
	if (epoll_ctl(reactor->epfd, EPOLL_CTL_ADD, reactor->evfd, &ev) < 0) {
		log_error("net", "reactor %d: epoll_ctl eventfd: %s", index, strerror(errno));
		abort();
	}
	return reactor;
}

/* Frees the reactor after its loop has returned (or never ran). Timers still
 * pending are dropped without firing: their owners cancel them first. */
void reactor_free(struct reactor *reactor)
{
	if (!reactor)
		return;
	/* Posts that arrived after the loop ended and before_sleep callbacks
	 * still pending run now, so whatever they carry is released; the loop's
	 * thread is gone, so the caller stands in for it. */
	struct reactor *saved = current_reactor;
	current_reactor = reactor;
	for (int round = 0; round < 16; round++) {
		reactor_drain_posts(reactor);
		if (!reactor->bs_len)
			break;
		reactor_run_before_sleep(reactor);
	}
	current_reactor = saved;
	for (size_t i = 0; i < reactor->heap_len; i++)
		free(reactor->heap[i]);
	free(reactor->heap);
	free(reactor->fds);
	free(reactor->before_sleep);
	close(reactor->epfd);
	close(reactor->evfd);
	pthread_mutex_destroy(&reactor->post_lock);
	free(reactor);
}

int reactor_index(const struct reactor *reactor)
{
	return reactor->index;
}

struct reactor *reactor_current(void)
{
	return current_reactor;
}

static void reactor_wake(struct reactor *reactor)
{
	uint64_t one = 1;
	ssize_t n = write(reactor->evfd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

void reactor_stop(struct reactor *reactor)
{
	atomic_store(&reactor->stopping, true);
	reactor_wake(reactor);
}

/* ---- posts ---------------------------------------------------------------- */

void reactor_post(struct reactor *reactor, reactor_fn fn, void *arg)
{
	struct reactor_post *post = xmalloc(sizeof(*post));
	post->next = NULL;
	post->fn = fn;
	post->arg = arg;
	pthread_mutex_lock(&reactor->post_lock);
	bool was_empty = reactor->post_head == NULL;
	if (reactor->post_tail)
		reactor->post_tail->next = post;
	else
		reactor->post_head = post;
	reactor->post_tail = post;
	pthread_mutex_unlock(&reactor->post_lock);
	/* Only the first post into an empty queue wakes the loop: the loop takes
	 * the whole list at once after resetting the eventfd, so later posts are
	 * either in that list or find it empty again and wake it themselves. */
	if (was_empty)
		reactor_wake(reactor);
}

static void reactor_drain_posts(struct reactor *reactor)
{
	for (;;) {
		pthread_mutex_lock(&reactor->post_lock);
		struct reactor_post *post = reactor->post_head;
		reactor->post_head = reactor->post_tail = NULL;
		pthread_mutex_unlock(&reactor->post_lock);
		if (!post)
			return;
		while (post) {
			struct reactor_post *next = post->next;
			reactor_fn fn = post->fn;
			void *arg = post->arg;
			free(post);
			fn(arg);
			post = next;
		}
	}
}

static void reactor_handle_eventfd(struct reactor *reactor)
{
	uint64_t count;
	ssize_t n = read(reactor->evfd, &count, sizeof(count));
	(void)n;
	/* One batch per wake-up; posts made by these callbacks wake us again. */
	pthread_mutex_lock(&reactor->post_lock);
	struct reactor_post *post = reactor->post_head;
	reactor->post_head = reactor->post_tail = NULL;
	pthread_mutex_unlock(&reactor->post_lock);
	while (post) {
		struct reactor_post *next = post->next;
		reactor_fn fn = post->fn;
		void *arg = post->arg;
		free(post);
		fn(arg);
		post = next;
	}
}

/* ---- fds ------------------------------------------------------------------ */

static uint64_t reactor_fd_tag(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

int reactor_add_fd(struct reactor *reactor, int fd, uint32_t events, reactor_io_fn fn, void *arg)
{
	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= reactor->fds_cap) {
		size_t cap = reactor->fds_cap ? reactor->fds_cap : 64;
		while (cap <= (size_t)fd)
			cap *= 2;
		reactor->fds = xrealloc(reactor->fds, cap * sizeof(*reactor->fds));
		memset(reactor->fds + reactor->fds_cap, 0, (cap - reactor->fds_cap) * sizeof(*reactor->fds));
		reactor->fds_cap = cap;
	}
	struct reactor_fd *slot = &reactor->fds[fd];
	if (slot->fn)
		return -EEXIST;
	uint32_t gen = ++reactor->next_gen;
	if (gen == UINT32_MAX) /* UINT64_MAX tags the eventfd */
		gen = reactor->next_gen = 1;
	struct epoll_event ev = {.events = events, .data.u64 = reactor_fd_tag(fd, gen)};
	if (epoll_ctl(reactor->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	slot->fn = fn;
	slot->arg = arg;
	slot->gen = gen;
	return 0;
}

int reactor_mod_fd(struct reactor *reactor, int fd, uint32_t events, reactor_io_fn fn, void *arg)
{
	if (fd < 0 || (size_t)fd >= reactor->fds_cap || !reactor->fds[fd].fn)
		return -ENOENT;
	struct reactor_fd *slot = &reactor->fds[fd];
	struct epoll_event ev = {.events = events, .data.u64 = reactor_fd_tag(fd, slot->gen)};
	if (epoll_ctl(reactor->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	slot->fn = fn;
	slot->arg = arg;
	return 0;
}

void reactor_del_fd(struct reactor *reactor, int fd)
{
	if (fd < 0 || (size_t)fd >= reactor->fds_cap || !reactor->fds[fd].fn)
		return;
	epoll_ctl(reactor->epfd, EPOLL_CTL_DEL, fd, NULL);
	reactor->fds[fd].fn = NULL;
	reactor->fds[fd].arg = NULL;
}

/* ---- timers --------------------------------------------------------------- */

static bool timer_before(const struct reactor_timer *a, const struct reactor_timer *b)
{
	return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->seq < b->seq);
}

static void heap_set(struct reactor *reactor, size_t i, struct reactor_timer *timer)
{
	reactor->heap[i] = timer;
	timer->heap_index = i;
}

static void heap_sift_up(struct reactor *reactor, size_t i)
{
	struct reactor_timer *timer = reactor->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(timer, reactor->heap[parent]))
			break;
		heap_set(reactor, i, reactor->heap[parent]);
		i = parent;
	}
	heap_set(reactor, i, timer);
}

static void heap_sift_down(struct reactor *reactor, size_t i)
{
	struct reactor_timer *timer = reactor->heap[i];
	size_t len = reactor->heap_len;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= len)
			break;
		if (child + 1 < len && timer_before(reactor->heap[child + 1], reactor->heap[child]))
			child++;
		if (!timer_before(reactor->heap[child], timer))
			break;
		heap_set(reactor, i, reactor->heap[child]);
		i = child;
	}
	heap_set(reactor, i, timer);
}

static void heap_remove(struct reactor *reactor, size_t i)
{
	struct reactor_timer *last = reactor->heap[--reactor->heap_len];
	if (i == reactor->heap_len)
		return;
	heap_set(reactor, i, last);
	if (i > 0 && timer_before(last, reactor->heap[(i - 1) / 2]))
		heap_sift_up(reactor, i);
	else
		heap_sift_down(reactor, i);
}

struct reactor_timer *reactor_timer_add(struct reactor *reactor, int64_t delay_ms, reactor_fn fn, void *arg)
{
	if (delay_ms < 0)
		delay_ms = 0;
	struct reactor_timer *timer = xmalloc(sizeof(*timer));
	int64_t now = clock_mono_ms();
	timer->when_ms = delay_ms > INT64_MAX - now ? INT64_MAX : now + delay_ms;
	timer->seq = reactor->timer_seq++;
	timer->fn = fn;
	timer->arg = arg;
	if (reactor->heap_len == reactor->heap_cap) {
		reactor->heap_cap = reactor->heap_cap ? reactor->heap_cap * 2 : 64;
		reactor->heap = xrealloc(reactor->heap, reactor->heap_cap * sizeof(*reactor->heap));
	}
	reactor->heap[reactor->heap_len++] = timer;
	heap_sift_up(reactor, reactor->heap_len - 1);
	return timer;
}

void reactor_timer_cancel(struct reactor *reactor, struct reactor_timer *timer)
{
	if (!timer)
		return;
	heap_remove(reactor, timer->heap_index);
	free(timer);
}

/* Fires the timers due now. Timers added by these callbacks, even with delay
 * 0, wait for the next iteration so events are not starved. */
static void reactor_run_timers(struct reactor *reactor)
{
	int64_t now = clock_mono_ms();
	uint64_t seq_limit = reactor->timer_seq;
	while (reactor->heap_len) {
		struct reactor_timer *timer = reactor->heap[0];
		if (timer->when_ms > now || timer->seq >= seq_limit)
			break;
		heap_remove(reactor, 0);
		reactor_fn fn = timer->fn;
		void *arg = timer->arg;
		free(timer);
		fn(arg);
	}
}

/* ---- before sleep --------------------------------------------------------- */

void reactor_before_sleep(struct reactor *reactor, reactor_fn fn, void *arg)
{
	if (reactor->bs_len == reactor->bs_cap) {
		reactor->bs_cap = reactor->bs_cap ? reactor->bs_cap * 2 : 64;
		reactor->before_sleep = xrealloc(reactor->before_sleep, reactor->bs_cap * sizeof(*reactor->before_sleep));
	}
	reactor->before_sleep[reactor->bs_len++] = (struct reactor_cb){fn, arg};
}

/* Runs the callbacks registered so far; ones registered while they run wait
 * for the next iteration (which then does not sleep). */
static void reactor_run_before_sleep(struct reactor *reactor)
{
	size_t n = reactor->bs_len;
	if (!n)
		return;
	struct reactor_cb stack[64];
	struct reactor_cb *cbs = n <= 64 ? stack : xmalloc(n * sizeof(*cbs));
	memcpy(cbs, reactor->before_sleep, n * sizeof(*cbs));
	reactor->bs_len = 0;
	for (size_t i = 0; i < n; i++)
		cbs[i].fn(cbs[i].arg);
	if (cbs != stack)
		free(cbs);
}

/* ---- the loop ------------------------------------------------------------- */

static int reactor_timeout_ms(struct reactor *reactor)
{
	if (reactor->bs_len || atomic_load(&reactor->stopping))
		return 0;
	if (!reactor->heap_len)
		return -1;
	int64_t wait = reactor->heap[0]->when_ms - clock_mono_ms();
	if (wait <= 0)
		return 0;
	return wait > 60000 ? 60000 : (int)wait;
}

void reactor_run(struct reactor *reactor)
{
	struct epoll_event events[REACTOR_MAX_EVENTS];
	struct reactor *saved = current_reactor;
	current_reactor = reactor;
	while (!atomic_load(&reactor->stopping)) {
		reactor_run_before_sleep(reactor);
		int n = epoll_wait(reactor->epfd, events, REACTOR_MAX_EVENTS, reactor_timeout_ms(reactor));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("net", "reactor %d: epoll_wait: %s", reactor->index, strerror(errno));
			abort();
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = events[i].data.u64;
			if (tag == UINT64_MAX) {
				reactor_handle_eventfd(reactor);
				continue;
			}
			int fd = (int)(uint32_t)tag;
			uint32_t gen = (uint32_t)(tag >> 32);
			/* Look the slot up afresh each time: an earlier callback may have
			 * closed this fd or grown the table. */
			if ((size_t)fd >= reactor->fds_cap)
				continue;
			struct reactor_fd *slot = &reactor->fds[fd];
			if (!slot->fn || slot->gen != gen)
				continue;
			slot->fn(slot->arg, events[i].events);
		}
		reactor_run_timers(reactor);
	}
	/* Work posted before the stop still runs on this thread. */
	reactor_drain_posts(reactor);
	current_reactor = saved;
}
