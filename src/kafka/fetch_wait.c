/* Per-reactor lists of parked fetches, and the coalesced cross-thread wake-up. */
#include "kafka/fetch_wait.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "kafka/broker.h"
#include "net/reactor.h"

struct fetch_wait_slot {
	struct reactor *reactor;
	struct fetch_waiter *head; /* reactor thread only */
	atomic_int count;          /* waiters in the list, read by notifiers */
	atomic_bool recheck_posted;
};

struct kafka_fetch_waiters {
	int count;
	struct fetch_wait_slot slots[];
};

struct kafka_fetch_waiters *kafka_fetch_waiters_new(struct reactor **reactors, int reactor_count)
{
	struct kafka_fetch_waiters *waiters =
		xcalloc(1, sizeof(*waiters) + (size_t)reactor_count * sizeof(waiters->slots[0]));
	waiters->count = reactor_count;
	for (int i = 0; i < reactor_count; i++) {
		waiters->slots[i].reactor = reactors[i];
		atomic_init(&waiters->slots[i].count, 0);
		atomic_init(&waiters->slots[i].recheck_posted, false);
	}
	return waiters;
}

void kafka_fetch_waiters_free(struct kafka_fetch_waiters *waiters)
{
	free(waiters);
}

static struct fetch_wait_slot *slot_of(struct broker *broker, struct reactor *reactor)
{
	return &broker->fetch_waiters->slots[reactor_index(reactor)];
}

void kafka_fetch_wait_add(struct broker *broker, struct reactor *reactor, struct fetch_waiter *waiter)
{
	struct fetch_wait_slot *slot = slot_of(broker, reactor);
	waiter->prev = NULL;
	waiter->next = slot->head;
	if (slot->head)
		slot->head->prev = waiter;
	slot->head = waiter;
	atomic_fetch_add(&slot->count, 1);
}

void kafka_fetch_wait_remove(struct broker *broker, struct reactor *reactor, struct fetch_waiter *waiter)
{
	struct fetch_wait_slot *slot = slot_of(broker, reactor);
	if (waiter->prev)
		waiter->prev->next = waiter->next;
	else
		slot->head = waiter->next;
	if (waiter->next)
		waiter->next->prev = waiter->prev;
	waiter->prev = waiter->next = NULL;
	atomic_fetch_sub(&slot->count, 1);
}

/* Wakes every waiter of the slot. A waiter that answers removes itself, so
 * the next pointer is taken before each call. */
static void slot_wake_all(struct fetch_wait_slot *slot, bool final)
{
	struct fetch_waiter *waiter = slot->head;
	while (waiter) {
		struct fetch_waiter *next = waiter->next;
		waiter->wake(waiter, final);
		waiter = next;
	}
}

void kafka_fetch_wait_drain(struct broker *broker, struct reactor *reactor)
{
	slot_wake_all(slot_of(broker, reactor), true);
}

static void slot_recheck(void *arg)
{
	struct fetch_wait_slot *slot = arg;
	atomic_store(&slot->recheck_posted, false);
	slot_wake_all(slot, false);
}

void kafka_fetch_wait_notify(struct broker *broker)
{
	struct kafka_fetch_waiters *waiters = broker->fetch_waiters;
	for (int i = 0; i < waiters->count; i++) {
		struct fetch_wait_slot *slot = &waiters->slots[i];
		if (atomic_load(&slot->count) == 0) /* seq_cst: pairs with the add before a parked fetch re-reads */
			continue;
		bool expected = false;
		if (atomic_compare_exchange_strong(&slot->recheck_posted, &expected, true))
			reactor_post(slot->reactor, slot_recheck, slot);
	}
}
