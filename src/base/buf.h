/* Output buffer chains: a response is a list of segments, each either bytes in
 * memory or a byte range of a file (nginx's ngx_buf_t idea). Fetch responses put
 * record batches in as file ranges, and the connection sends them with sendfile,
 * so record bytes are never copied through user space on plain TCP.
 *
 * A chain belongs to one thread at a time. File ranges hold a reference on a
 * file_ref, so a segment deleted by retention stays readable until sent. */
#ifndef SAMSA_BASE_BUF_H
#define SAMSA_BASE_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A refcounted file descriptor; the fd is closed when the last reference goes. */
struct file_ref {
	int fd;
	atomic_int refs;
};

struct file_ref *file_ref_new(int fd); /* takes ownership of fd, refs = 1 */
struct file_ref *file_ref_get(struct file_ref *file);
void file_ref_put(struct file_ref *file);

enum buf_seg_kind { BUF_SEG_MEM, BUF_SEG_FILE };

struct buf_seg {
	struct buf_seg *next;
	enum buf_seg_kind kind;
	size_t len;  /* bytes of payload in this segment */
	size_t sent; /* bytes of it already written to the socket */
	union {
		struct {
			size_t cap;
			uint8_t *data;
		} mem;
		struct {
			struct file_ref *file;
			off_t off;
		} file;
	};
};

struct buf_chain {
	struct buf_seg *head;
	struct buf_seg *tail;
	size_t len; /* total unsent bytes */
};

void buf_chain_init(struct buf_chain *chain);
/* Frees every segment and drops file references. */
void buf_chain_fini(struct buf_chain *chain);

/* n contiguous writable bytes at the end of the chain, counted in len at once.
 * The pointer stays valid until the chain is freed or those bytes are sent,
 * so a length prefix can be reserved first and patched later. */
uint8_t *buf_chain_reserve(struct buf_chain *chain, size_t n);
void buf_chain_append(struct buf_chain *chain, const void *data, size_t n);
/* Appends a reference to n bytes of file at off (takes a new reference). */
void buf_chain_append_file(struct buf_chain *chain, struct file_ref *file, off_t off, size_t n);
/* Moves every segment of src to the end of dst; src is left empty. */
void buf_chain_move(struct buf_chain *dst, struct buf_chain *src);

/* Writes as much as the socket takes: writev for memory runs, sendfile for file
 * ranges. Returns bytes written (>= 0), or -errno; -EAGAIN when nothing could be
 * written. Fully sent segments are freed. */
ssize_t buf_chain_write_fd(struct buf_chain *chain, int fd);

/* Copies the whole chain (memory and file bytes) into dst, which holds chain->len
 * bytes. For tests and for transports that cannot sendfile. Returns 0 or -errno. */
int buf_chain_flatten(const struct buf_chain *chain, uint8_t *dst);

#endif
