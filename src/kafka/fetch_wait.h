/* Long-poll support for Fetch: parked fetches wait on their own reactor for
 * max_wait_ms or until new data is appended, whichever comes first.
 *
 * Each reactor has a list of its parked fetches (touched only on that
 * thread). A produce on any thread calls kafka_fetch_wait_notify(), which
 * posts one coalesced "recheck" to every reactor that has waiters; each waiter
 * then re-reads its partitions and answers if it now has enough. */
#ifndef SAMSA_KAFKA_FETCH_WAIT_H
#define SAMSA_KAFKA_FETCH_WAIT_H

#include <stdbool.h>

struct broker;
struct reactor;
struct kafka_fetch_waiters;

struct fetch_waiter {
	struct fetch_waiter *prev;
	struct fetch_waiter *next;
	/* Re-examine the fetch; final = answer now whatever is there (shutdown). */
	void (*wake)(struct fetch_waiter *waiter, bool final);
};

struct kafka_fetch_waiters *kafka_fetch_waiters_new(struct reactor **reactors, int reactor_count);
void kafka_fetch_waiters_free(struct kafka_fetch_waiters *waiters);

/* Reactor thread of `reactor` only. */
void kafka_fetch_wait_add(struct broker *broker, struct reactor *reactor, struct fetch_waiter *waiter);
void kafka_fetch_wait_remove(struct broker *broker, struct reactor *reactor, struct fetch_waiter *waiter);
/* Answers every parked fetch of this reactor now (clean shutdown). */
void kafka_fetch_wait_drain(struct broker *broker, struct reactor *reactor);

/* Any thread: new data was appended somewhere. Cheap when nobody waits. */
void kafka_fetch_wait_notify(struct broker *broker);

#endif
